"""Transit engine through `client.secrets.transit`: keys of every supported type, encrypt/
decrypt (context, derived, convergent, batch), rotate + min_decryption_version + rewrap,
datakey, hmac, sign/verify. Signatures are also checked independently against the public key
with the `cryptography` package, so "verify says valid" is not the only evidence.
"""

import base64
import hashlib
import hmac as std_hmac

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
import hvac
import pytest

from conftest import uid


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def unb64(text):
    return base64.b64decode(text)


ENCRYPTION_TYPES = ["aes256-gcm96", "chacha20-poly1305"]
SIGNING_TYPES = ["ed25519", "ecdsa-p256"]


@pytest.mark.parametrize("key_type", ENCRYPTION_TYPES + SIGNING_TYPES)
def test_create_and_read_key(client, transit_mount, key_type):
    name = uid("key")
    created = client.secrets.transit.create_key(name, key_type=key_type, mount_point=transit_mount)
    # Vault >= 1.12 answers 200 with the key's description (hvac gives a dict); older ones 204.
    if isinstance(created, dict):
        assert created["data"]["name"] == name
    else:
        assert created.status_code == 204
    key = client.secrets.transit.read_key(name, mount_point=transit_mount)["data"]
    assert key["name"] == name
    assert key["type"] == key_type
    assert key["latest_version"] == 1
    assert key["min_decryption_version"] == 1
    assert key["min_encryption_version"] == 0
    assert key["deletion_allowed"] is False
    assert key["exportable"] is False
    assert key["supports_encryption"] is (key_type in ENCRYPTION_TYPES)
    assert key["supports_decryption"] is (key_type in ENCRYPTION_TYPES)
    assert key["supports_signing"] is (key_type in SIGNING_TYPES)
    assert list(key["keys"]) == ["1"]
    if key_type in SIGNING_TYPES:
        assert key["keys"]["1"]["public_key"]
    else:
        assert isinstance(key["keys"]["1"], int)
    assert name in client.secrets.transit.list_keys(mount_point=transit_mount)["data"]["keys"]


def test_unknown_key_type_is_rejected(client, transit_mount):
    # hvac validates key_type client-side, so send the request as-is.
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.adapter.post(f"/v1/{transit_mount}/keys/{uid('key')}", json={"type": "rot13"})


def test_read_missing_key_is_404(client, transit_mount):
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.secrets.transit.read_key("missing", mount_point=transit_mount)


@pytest.mark.parametrize("key_type", ENCRYPTION_TYPES)
def test_encrypt_decrypt_roundtrip(client, transit_mount, key_type):
    name = uid("key")
    client.secrets.transit.create_key(name, key_type=key_type, mount_point=transit_mount)
    plaintext = b64(b"\x00binary\xffpayload")
    ct = client.secrets.transit.encrypt_data(name, plaintext, mount_point=transit_mount)["data"]
    assert ct["ciphertext"].startswith("vault:v1:")
    assert ct["key_version"] == 1
    # Random nonces: the same plaintext encrypts differently each time.
    again = client.secrets.transit.encrypt_data(name, plaintext, mount_point=transit_mount)["data"]
    assert again["ciphertext"] != ct["ciphertext"]

    out = client.secrets.transit.decrypt_data(name, ct["ciphertext"], mount_point=transit_mount)["data"]
    assert out["plaintext"] == plaintext


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c[:-4] + ("AAAA" if not c.endswith("AAAA") else "BBBB"),  # tampered body
        lambda c: c.replace("vault:v1:", "vault:v9:"),  # unknown version
        lambda c: "not-a-ciphertext",
        lambda c: c.replace("vault:v1:", "vault:v1:!!"),  # not base64
    ],
)
def test_decrypt_rejects_bad_ciphertext(client, transit_mount, mutate):
    name = uid("key")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    ct = client.secrets.transit.encrypt_data(name, b64("hello"), mount_point=transit_mount)["data"]["ciphertext"]
    with pytest.raises(hvac.exceptions.InvalidRequest) as err:
        client.secrets.transit.decrypt_data(name, mutate(ct), mount_point=transit_mount)
    assert err.value.errors


def test_encrypt_upserts_missing_key(client, transit_mount):
    name = uid("auto")
    ct = client.secrets.transit.encrypt_data(name, b64("x"), mount_point=transit_mount)["data"]["ciphertext"]
    assert client.secrets.transit.read_key(name, mount_point=transit_mount)["data"]["type"] == "aes256-gcm96"
    assert client.secrets.transit.decrypt_data(name, ct, mount_point=transit_mount)["data"]["plaintext"] == b64("x")


def test_signing_key_cannot_encrypt(client, transit_mount):
    name = uid("key")
    client.secrets.transit.create_key(name, key_type="ed25519", mount_point=transit_mount)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.secrets.transit.encrypt_data(name, b64("x"), mount_point=transit_mount)


def test_derived_key_requires_and_binds_context(client, transit_mount):
    name = uid("derived")
    client.secrets.transit.create_key(name, derived=True, mount_point=transit_mount)
    assert client.secrets.transit.read_key(name, mount_point=transit_mount)["data"]["derived"] is True

    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.secrets.transit.encrypt_data(name, b64("x"), mount_point=transit_mount)

    ctx_a, ctx_b = b64("tenant-a"), b64("tenant-b")
    ct = client.secrets.transit.encrypt_data(name, b64("secret"), context=ctx_a, mount_point=transit_mount)["data"]
    plain = client.secrets.transit.decrypt_data(name, ct["ciphertext"], context=ctx_a, mount_point=transit_mount)
    assert plain["data"]["plaintext"] == b64("secret")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.secrets.transit.decrypt_data(name, ct["ciphertext"], context=ctx_b, mount_point=transit_mount)


def test_convergent_encryption_is_deterministic_per_context(client, transit_mount):
    name = uid("conv")
    client.secrets.transit.create_key(name, derived=True, convergent_encryption=True, mount_point=transit_mount)
    key = client.secrets.transit.read_key(name, mount_point=transit_mount)["data"]
    assert key["convergent_encryption"] is True

    def enc(text, ctx):
        return client.secrets.transit.encrypt_data(name, b64(text), context=b64(ctx), mount_point=transit_mount)[
            "data"
        ]["ciphertext"]

    assert enc("ssn-123", "users") == enc("ssn-123", "users")
    assert enc("ssn-123", "users") != enc("ssn-123", "admins")
    assert enc("ssn-123", "users") != enc("ssn-124", "users")


def test_convergent_requires_derived(client, transit_mount):
    # hvac refuses this combination client-side, so send the request as-is.
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.adapter.post(f"/v1/{transit_mount}/keys/{uid('conv')}", json={"convergent_encryption": True})


def test_batch_encrypt_decrypt(client, transit_mount):
    name = uid("batch")
    client.secrets.transit.create_key(name, derived=True, mount_point=transit_mount)
    items = [{"plaintext": b64(f"item-{i}"), "context": b64(f"ctx-{i}")} for i in range(5)]
    enc = client.secrets.transit.encrypt_data(name, batch_input=items, mount_point=transit_mount)["data"]
    results = enc["batch_results"]
    assert len(results) == 5
    assert all(r["ciphertext"].startswith("vault:v1:") for r in results)

    dec_input = [{"ciphertext": r["ciphertext"], "context": items[i]["context"]} for i, r in enumerate(results)]
    dec = client.secrets.transit.decrypt_data(name, batch_input=dec_input, mount_point=transit_mount)["data"]
    assert [r["plaintext"] for r in dec["batch_results"]] == [i["plaintext"] for i in items]


def test_batch_reports_per_item_errors(client, transit_mount):
    name = uid("batch")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    good = client.secrets.transit.encrypt_data(name, b64("ok"), mount_point=transit_mount)["data"]["ciphertext"]
    # Vault answers a partially failed batch with 400 by default (partial_failure_response_code),
    # still carrying every item's result, so read the raw response.
    resp = client.adapter.post(
        f"/v1/{transit_mount}/decrypt/{name}",
        json={"batch_input": [{"ciphertext": good}, {"ciphertext": "vault:v1:garbage"}]},
        raise_exception=False,
    )
    # hvac's JSON adapter hands back a dict only for 200; anything else stays a Response.
    assert not isinstance(resp, dict), "a partially failed batch must not answer 200"
    assert resp.status_code == 400
    results = resp.json()["data"]["batch_results"]
    assert results[0]["plaintext"] == b64("ok")
    assert results[1]["error"]
    assert not results[1].get("plaintext")

    # partial_failure_response_code lets a client ask for another status.
    resp = client.adapter.post(
        f"/v1/{transit_mount}/decrypt/{name}",
        json={
            "batch_input": [{"ciphertext": good}, {"ciphertext": "vault:v1:garbage"}],
            "partial_failure_response_code": 207,
        },
        raise_exception=False,
    )
    assert resp.status_code == 207
    assert resp.json()["data"]["batch_results"][0]["plaintext"] == b64("ok")


def test_rotate_rewrap_and_min_decryption_version(client, transit_mount):
    name = uid("rot")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    v1 = client.secrets.transit.encrypt_data(name, b64("data"), mount_point=transit_mount)["data"]["ciphertext"]

    client.secrets.transit.rotate_key(name, mount_point=transit_mount)
    key = client.secrets.transit.read_key(name, mount_point=transit_mount)["data"]
    assert key["latest_version"] == 2
    assert sorted(key["keys"]) == ["1", "2"]
    v2 = client.secrets.transit.encrypt_data(name, b64("data"), mount_point=transit_mount)["data"]["ciphertext"]
    assert v2.startswith("vault:v2:")
    # Old ciphertexts still decrypt after rotation.
    assert client.secrets.transit.decrypt_data(name, v1, mount_point=transit_mount)["data"]["plaintext"] == b64("data")

    rewrapped = client.secrets.transit.rewrap_data(name, v1, mount_point=transit_mount)["data"]["ciphertext"]
    assert rewrapped.startswith("vault:v2:")
    assert client.secrets.transit.decrypt_data(name, rewrapped, mount_point=transit_mount)["data"]["plaintext"] == b64(
        "data"
    )

    client.secrets.transit.update_key_configuration(name, min_decryption_version=2, mount_point=transit_mount)
    assert client.secrets.transit.read_key(name, mount_point=transit_mount)["data"]["min_decryption_version"] == 2
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.secrets.transit.decrypt_data(name, v1, mount_point=transit_mount)
    assert client.secrets.transit.decrypt_data(name, v2, mount_point=transit_mount)["data"]["plaintext"] == b64("data")


def test_encrypt_with_explicit_key_version(client, transit_mount):
    name = uid("ver")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    client.secrets.transit.rotate_key(name, mount_point=transit_mount)
    ct = client.secrets.transit.encrypt_data(name, b64("x"), key_version=1, mount_point=transit_mount)
    assert ct["data"]["ciphertext"].startswith("vault:v1:")


@pytest.mark.parametrize("kind", ["plaintext", "wrapped"])
def test_datakey(client, transit_mount, kind):
    name = uid("dk")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    data = client.secrets.transit.generate_data_key(name, key_type=kind, mount_point=transit_mount)["data"]
    assert data["ciphertext"].startswith("vault:v1:")
    unwrapped = client.secrets.transit.decrypt_data(name, data["ciphertext"], mount_point=transit_mount)["data"]
    assert len(unb64(unwrapped["plaintext"])) == 32
    if kind == "plaintext":
        assert data["plaintext"] == unwrapped["plaintext"]
    else:
        assert "plaintext" not in data or not data["plaintext"]


def test_datakey_bits(client, transit_mount):
    name = uid("dk")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    data = client.secrets.transit.generate_data_key(name, key_type="plaintext", bits=512, mount_point=transit_mount)
    assert len(unb64(data["data"]["plaintext"])) == 64


@pytest.mark.parametrize("algorithm", ["sha2-256", "sha2-512"])
def test_hmac_generate_and_verify(client, transit_mount, algorithm):
    name = uid("hmac")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    mac = client.secrets.transit.generate_hmac(name, b64("message"), algorithm=algorithm, mount_point=transit_mount)
    value = mac["data"]["hmac"]
    assert value.startswith("vault:v1:")
    digest = unb64(value.split(":", 2)[2])
    assert len(digest) == (32 if algorithm == "sha2-256" else 64)
    # Deterministic for the same key version and input.
    again = client.secrets.transit.generate_hmac(name, b64("message"), algorithm=algorithm, mount_point=transit_mount)
    assert again["data"]["hmac"] == value

    ok = client.secrets.transit.verify_signed_data(
        name, b64("message"), hmac=value, hash_algorithm=algorithm, mount_point=transit_mount
    )
    assert ok["data"]["valid"] is True
    bad = client.secrets.transit.verify_signed_data(
        name, b64("messagE"), hmac=value, hash_algorithm=algorithm, mount_point=transit_mount
    )
    assert bad["data"]["valid"] is False


def public_key(client, mount, name, version="1"):
    pem = client.secrets.transit.read_key(name, mount_point=mount)["data"]["keys"][version]["public_key"]
    return pem


def test_ed25519_sign_verify(client, transit_mount):
    name = uid("ed")
    client.secrets.transit.create_key(name, key_type="ed25519", mount_point=transit_mount)
    sig = client.secrets.transit.sign_data(name, b64("release-1.0.tar.gz"), mount_point=transit_mount)["data"]
    assert sig["signature"].startswith("vault:v1:")
    assert sig["key_version"] == 1

    verify = client.secrets.transit.verify_signed_data(
        name, b64("release-1.0.tar.gz"), signature=sig["signature"], mount_point=transit_mount
    )
    assert verify["data"]["valid"] is True
    forged = client.secrets.transit.verify_signed_data(
        name, b64("release-1.1.tar.gz"), signature=sig["signature"], mount_point=transit_mount
    )
    assert forged["data"]["valid"] is False

    # Independent check: Vault publishes the raw ed25519 public key base64-encoded.
    raw = unb64(public_key(client, transit_mount, name))
    ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(
        unb64(sig["signature"].split(":", 2)[2]), b"release-1.0.tar.gz"
    )


def test_ecdsa_p256_sign_verify(client, transit_mount):
    name = uid("ec")
    client.secrets.transit.create_key(name, key_type="ecdsa-p256", mount_point=transit_mount)
    sig = client.secrets.transit.sign_data(
        name, b64("payload"), hash_algorithm="sha2-256", mount_point=transit_mount
    )["data"]["signature"]
    assert sig.startswith("vault:v1:")
    ok = client.secrets.transit.verify_signed_data(
        name, b64("payload"), signature=sig, hash_algorithm="sha2-256", mount_point=transit_mount
    )
    assert ok["data"]["valid"] is True
    bad = client.secrets.transit.verify_signed_data(
        name, b64("payloaD"), signature=sig, hash_algorithm="sha2-256", mount_point=transit_mount
    )
    assert bad["data"]["valid"] is False

    # Independent check: PEM public key, ASN.1 DER signature over SHA-256.
    pub = serialization.load_pem_public_key(public_key(client, transit_mount, name).encode())
    pub.verify(unb64(sig.split(":", 2)[2]), b"payload", ec.ECDSA(hashes.SHA256()))


def test_signature_from_old_version_verifies_after_rotate(client, transit_mount):
    name = uid("ed")
    client.secrets.transit.create_key(name, key_type="ed25519", mount_point=transit_mount)
    old = client.secrets.transit.sign_data(name, b64("doc"), mount_point=transit_mount)["data"]["signature"]
    client.secrets.transit.rotate_key(name, mount_point=transit_mount)
    new = client.secrets.transit.sign_data(name, b64("doc"), mount_point=transit_mount)["data"]["signature"]
    assert new.startswith("vault:v2:")
    for sig in (old, new):
        res = client.secrets.transit.verify_signed_data(name, b64("doc"), signature=sig, mount_point=transit_mount)
        assert res["data"]["valid"] is True


def test_encryption_key_cannot_sign(client, transit_mount):
    name = uid("key")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.secrets.transit.sign_data(name, b64("x"), mount_point=transit_mount)


def test_delete_key_requires_deletion_allowed(client, transit_mount):
    name = uid("del")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.secrets.transit.delete_key(name, mount_point=transit_mount)
    client.secrets.transit.update_key_configuration(name, deletion_allowed=True, mount_point=transit_mount)
    assert client.secrets.transit.delete_key(name, mount_point=transit_mount).status_code == 204
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.secrets.transit.read_key(name, mount_point=transit_mount)


def test_transit_keys_survive_restart(config_server_unsealed):
    server = config_server_unsealed
    root = server.client()
    root.sys.enable_secrets_engine("transit", path="transit")
    root.secrets.transit.create_key("durable", mount_point="transit")
    ct = root.secrets.transit.encrypt_data("durable", b64("keep me"), mount_point="transit")["data"]["ciphertext"]
    server.restart()
    server.unseal()
    out = root.secrets.transit.decrypt_data("durable", ct, mount_point="transit")["data"]["plaintext"]
    assert out == b64("keep me")


def test_hmac_of_old_version_verifies_after_rotate(client, transit_mount):
    name = uid("hmac")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    v1 = client.secrets.transit.generate_hmac(name, b64("m"), mount_point=transit_mount)["data"]["hmac"]
    client.secrets.transit.rotate_key(name, mount_point=transit_mount)
    v2 = client.secrets.transit.generate_hmac(name, b64("m"), mount_point=transit_mount)["data"]["hmac"]
    assert v2.startswith("vault:v2:") and v1 != v2
    pinned = client.secrets.transit.generate_hmac(name, b64("m"), key_version=1, mount_point=transit_mount)
    assert pinned["data"]["hmac"] == v1
    for mac in (v1, v2):
        assert client.secrets.transit.verify_signed_data(name, b64("m"), hmac=mac, mount_point=transit_mount)[
            "data"
        ]["valid"] is True


@pytest.mark.parametrize(
    "key_type, cipher",
    [
        ("aes256-gcm96", "aesgcm"),
        ("chacha20-poly1305", "chacha"),
    ],
)
def test_exported_key_decrypts_vault_ciphertext_independently(client, transit_mount, key_type, cipher):
    """Vault's ciphertext is base64(nonce || ciphertext || tag); with the exported key the
    `cryptography` package must open it, proving the wire format, not just self-consistency."""
    name = uid("exp")
    client.secrets.transit.create_key(name, key_type=key_type, exportable=True, mount_point=transit_mount)
    ct = client.secrets.transit.encrypt_data(name, b64("wire format"), mount_point=transit_mount)["data"]["ciphertext"]
    exported = client.secrets.transit.export_key(name, key_type="encryption-key", mount_point=transit_mount)["data"]
    assert exported["name"] == name
    key = unb64(exported["keys"]["1"])
    assert len(key) == 32
    blob = unb64(ct.split(":", 2)[2])
    aead = AESGCM(key) if cipher == "aesgcm" else ChaCha20Poly1305(key)
    assert aead.decrypt(blob[:12], blob[12:], None) == b"wire format"


def test_exported_hmac_key_matches_vault_hmac(client, transit_mount):
    name = uid("exp")
    client.secrets.transit.create_key(name, exportable=True, mount_point=transit_mount)
    mac = client.secrets.transit.generate_hmac(name, b64("msg"), algorithm="sha2-256", mount_point=transit_mount)
    key = unb64(
        client.secrets.transit.export_key(name, key_type="hmac-key", mount_point=transit_mount)["data"]["keys"]["1"]
    )
    expected = std_hmac.new(key, b"msg", hashlib.sha256).digest()
    assert unb64(mac["data"]["hmac"].split(":", 2)[2]) == expected


def test_non_exportable_key_cannot_be_exported(client, transit_mount):
    name = uid("noexp")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.secrets.transit.export_key(name, key_type="encryption-key", mount_point=transit_mount)


def test_random_bytes(client, transit_mount):
    rnd = client.secrets.transit.generate_random_bytes(n_bytes=48, mount_point=transit_mount)["data"]["random_bytes"]
    assert len(unb64(rnd)) == 48
    other = client.secrets.transit.generate_random_bytes(n_bytes=48, mount_point=transit_mount)["data"]["random_bytes"]
    assert rnd != other


def test_hash(client, transit_mount):
    digest = client.secrets.transit.hash_data(b64("abc"), algorithm="sha2-256", mount_point=transit_mount)
    assert digest["data"]["sum"] == hashlib.sha256(b"abc").hexdigest()
    digest = client.secrets.transit.hash_data(
        b64("abc"), algorithm="sha2-512", output_format="base64", mount_point=transit_mount
    )
    assert unb64(digest["data"]["sum"]) == hashlib.sha512(b"abc").digest()


def test_min_encryption_version(client, transit_mount):
    name = uid("minenc")
    client.secrets.transit.create_key(name, mount_point=transit_mount)
    client.secrets.transit.rotate_key(name, mount_point=transit_mount)
    client.secrets.transit.update_key_configuration(name, min_encryption_version=2, mount_point=transit_mount)
    assert client.secrets.transit.read_key(name, mount_point=transit_mount)["data"]["min_encryption_version"] == 2
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.secrets.transit.encrypt_data(name, b64("x"), key_version=1, mount_point=transit_mount)
    ct = client.secrets.transit.encrypt_data(name, b64("x"), mount_point=transit_mount)["data"]["ciphertext"]
    assert ct.startswith("vault:v2:")


def test_ecdsa_jws_marshaling(client, transit_mount):
    """marshaling_algorithm=jws: the signature is raw r||s in base64url, as JOSE expects."""
    name = uid("jws")
    client.secrets.transit.create_key(name, key_type="ecdsa-p256", mount_point=transit_mount)
    sig = client.secrets.transit.sign_data(
        name, b64("header.payload"), hash_algorithm="sha2-256", marshaling_algorithm="jws", mount_point=transit_mount
    )["data"]["signature"]
    raw = base64.urlsafe_b64decode(sig.split(":", 2)[2] + "==")
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    pub = serialization.load_pem_public_key(public_key(client, transit_mount, name).encode())
    pub.verify(der, b"header.payload", ec.ECDSA(hashes.SHA256()))
    ok = client.secrets.transit.verify_signed_data(
        name, b64("header.payload"), signature=sig, hash_algorithm="sha2-256", marshaling_algorithm="jws",
        mount_point=transit_mount,
    )
    assert ok["data"]["valid"] is True


def test_batch_sign_and_verify(client, transit_mount):
    name = uid("bsig")
    client.secrets.transit.create_key(name, key_type="ed25519", mount_point=transit_mount)
    items = [{"input": b64(f"doc-{i}")} for i in range(4)]
    signed = client.secrets.transit.sign_data(name, batch_input=items, mount_point=transit_mount)["data"]["batch_results"]
    assert len(signed) == 4
    verify_items = [{"input": items[i]["input"], "signature": r["signature"]} for i, r in enumerate(signed)]
    verify_items[3]["input"] = b64("tampered")
    resp = client.adapter.post(f"/v1/{transit_mount}/verify/{name}", json={"batch_input": verify_items})
    assert [r["valid"] for r in resp["data"]["batch_results"]] == [True, True, True, False]


def test_derived_ed25519_signing_needs_context(client, transit_mount):
    name = uid("ded")
    client.secrets.transit.create_key(name, key_type="ed25519", derived=True, mount_point=transit_mount)
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.secrets.transit.sign_data(name, b64("m"), mount_point=transit_mount)
    sig = client.secrets.transit.sign_data(name, b64("m"), context=b64("tenant-1"), mount_point=transit_mount)
    value = sig["data"]["signature"]
    good = client.secrets.transit.verify_signed_data(
        name, b64("m"), signature=value, context=b64("tenant-1"), mount_point=transit_mount
    )
    assert good["data"]["valid"] is True
    other = client.secrets.transit.verify_signed_data(
        name, b64("m"), signature=value, context=b64("tenant-2"), mount_point=transit_mount
    )
    assert other["data"]["valid"] is False


def test_auto_rotate_period_setting(client, transit_mount):
    name = uid("auto")
    client.secrets.transit.create_key(name, auto_rotate_period="24h", mount_point=transit_mount)
    assert client.secrets.transit.read_key(name, mount_point=transit_mount)["data"]["auto_rotate_period"] == 86400
    client.secrets.transit.update_key_configuration(name, auto_rotate_period="0", mount_point=transit_mount)
    assert client.secrets.transit.read_key(name, mount_point=transit_mount)["data"]["auto_rotate_period"] == 0
    # Vault's floor is one hour.
    with pytest.raises(hvac.exceptions.InvalidRequest):
        client.secrets.transit.update_key_configuration(name, auto_rotate_period="10m", mount_point=transit_mount)
