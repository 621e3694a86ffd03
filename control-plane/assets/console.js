// Coffer console: progressive enhancement only. Every page works without this file; it adds
// live operation steps, copy buttons and confirmations.
(function () {
  "use strict";

  // Live steps: poll the small status endpoint until the operation is terminal.
  function watch(panel) {
    var url = panel.getAttribute("data-status-url");
    if (!url || panel.getAttribute("data-terminal") === "true") return;
    var delay = 1000;
    function badge(state) {
      var b = document.createElement("span");
      b.className = "badge badge-" + state;
      b.textContent = state;
      return b;
    }
    function render(data) {
      var st = document.getElementById("cluster-state");
      if (st && data.cluster) { st.replaceChildren(badge(data.cluster.state)); }
      var addr = document.getElementById("cluster-address");
      if (addr && data.cluster && data.cluster.address) {
        var c = document.createElement("code");
        c.textContent = data.cluster.address;
        addr.replaceChildren(c);
      }
      var op = data.operation;
      if (!op) return true;
      var opState = document.getElementById("op-state");
      if (opState) opState.replaceChildren(badge(op.state));
      var list = document.getElementById("op-steps");
      if (list) {
        var items = op.steps.map(function (s) {
          var li = document.createElement("li");
          li.className = "step step-" + s.state;
          var name = document.createElement("span");
          name.className = "step-name";
          name.textContent = s.name;
          li.append(name, badge(s.state));
          if (s.attempt > 1) {
            var a = document.createElement("span");
            a.className = "muted";
            a.textContent = " attempt " + s.attempt;
            li.append(a);
          }
          if (s.error) {
            var e = document.createElement("p");
            e.className = "step-error";
            e.textContent = s.error;
            li.append(e);
          }
          return li;
        });
        list.replaceChildren.apply(list, items);
      }
      var err = document.getElementById("op-error");
      if (err) {
        if (op.error_message) {
          var p = document.createElement("p");
          p.className = "error";
          p.setAttribute("role", "alert");
          var strong = document.createElement("strong");
          strong.textContent = "Failed: ";
          p.append(strong, document.createTextNode(op.error_message));
          err.replaceChildren(p);
        } else {
          err.replaceChildren();
        }
      }
      if (op.terminal) {
        panel.setAttribute("data-terminal", "true");
        var loading = document.getElementById("op-loading");
        if (loading) loading.remove();
        settled(op);
      }
      return op.terminal;
    }
    // The finished operation changed more than this panel shows (nodes, admin access, the
    // allow list): reload into the outcome view, unless the person is busy with a form, in
    // which case offer the reload instead of throwing their input away.
    function settled(op) {
      var target = window.location.pathname + "?op=" + encodeURIComponent(op.id);
      var active = document.activeElement;
      var typing = active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
      if (!typing) { window.location.replace(target); return; }
      var p = document.createElement("p");
      var a = document.createElement("a");
      a.href = target;
      a.textContent = "The operation finished: reload to see the cluster as it is now.";
      p.append(a);
      panel.append(p);
    }
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          if (!r.ok) throw new Error("status " + r.status);
          return r.json();
        })
        .then(function (data) {
          delay = 1000;
          if (!render(data)) setTimeout(tick, delay);
        })
        .catch(function () {
          // Back off on errors (server restart, network blip) but keep watching.
          delay = Math.min(delay * 2, 10000);
          var loading = document.getElementById("op-loading");
          if (loading) loading.lastChild.textContent = "Connection lost; retrying…";
          setTimeout(tick, delay);
        });
    }
    setTimeout(tick, delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.getElementById("operation");
    if (panel) watch(panel);

    // Lists with work in flight (snapshots being taken or restored) reload until it settles;
    // the server reconciles states on every read, so a reload is all it takes.
    var reload = document.querySelector("[data-reload-after]");
    if (reload) {
      var ms = parseInt(reload.getAttribute("data-reload-after"), 10) || 2000;
      setTimeout(function () {
        // Not while the person is in the middle of something on this page.
        if (!document.querySelector("button.busy")) window.location.reload();
      }, ms);
    }

    document.querySelectorAll("[data-copy]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var input = document.querySelector(btn.getAttribute("data-copy"));
        if (!input) return;
        input.select();
        var done = function () { btn.textContent = "Copied"; setTimeout(function () { btn.textContent = "Copy"; }, 2000); };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
        } else {
          document.execCommand("copy");
          done();
        }
      });
    });

    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
      });
    });

    // Type-the-name: keep the delete button disabled until the name matches (the server
    // checks again; this only saves a round trip).
    document.querySelectorAll("form[data-confirm-name]").forEach(function (form) {
      var want = form.getAttribute("data-confirm-name");
      var input = form.querySelector("input[name=confirm_name]");
      var button = form.querySelector("button[type=submit]");
      if (!input || !button) return;
      var sync = function () { button.disabled = input.value.trim() !== want; };
      input.addEventListener("input", sync);
      sync();
    });

    // Loading state: a submitted form's button shows it is working and cannot be pressed
    // twice. Runs after the per-form listeners, so a cancelled confirmation is respected.
    document.addEventListener("submit", function (ev) {
      if (ev.defaultPrevented) return;
      var btn = ev.target.querySelector("button[type=submit]");
      if (!btn) return;
      btn.setAttribute("aria-busy", "true");
      btn.classList.add("busy");
      setTimeout(function () { btn.disabled = true; }, 0);
    });
    // Coming back through the history cache must not leave buttons stuck "working".
    window.addEventListener("pageshow", function (ev) {
      if (!ev.persisted) return;
      document.querySelectorAll("button.busy").forEach(function (btn) {
        btn.classList.remove("busy");
        btn.removeAttribute("aria-busy");
        btn.disabled = false;
      });
    });

    // Close the org switcher on Escape, returning focus to it.
    document.addEventListener("keydown", function (ev) {
      if (ev.key !== "Escape") return;
      document.querySelectorAll("details.switcher[open]").forEach(function (d) {
        d.removeAttribute("open");
        d.querySelector("summary").focus();
      });
    });
  });
})();
