//! Cryptographic operations: encrypt, decrypt, rewrap, datakey, hmac, sign, verify, random.
//! Single requests and `batch_input` share the coffer-transit item functions; a batch with any
//! failed item answers 400 (or `partial_failure_response_code`) with every item's result, as
//! Vault does.

use super::cache::SharedKey;
use super::{name_and_suffix, transit_err, Ctx};
use crate::core::error::{CoreError, CoreResult};
use crate::core::request::{Request, Response};
use crate::obj;
use crate::util::fields;
use base64::Engine as _;
use coffer_transit::{
    DataKeyKind, DecryptItem, EncryptItem, EncryptParams, HashAlgorithm, InputItem, ItemOutcome,
    Key, KeyOptions, KeyType, Marshaling, SignParams,
};
use serde_json::{Map, Value};
use std::sync::RwLockReadGuard;

fn read(k: &SharedKey) -> CoreResult<RwLockReadGuard<'_, Key>> {
    k.read().map_err(|_| CoreError::internal("transit key lock poisoned"))
}

fn existing(ctx: &Ctx<'_>, name: &str) -> CoreResult<SharedKey> {
    ctx.cache.get(ctx, name)?.ok_or_else(|| CoreError::bad("encryption key not found"))
}

/// Parses `batch_input` into items, if present.
fn batch<T: serde::de::DeserializeOwned>(req: &Request) -> CoreResult<Option<Vec<T>>> {
    match req.data.get("batch_input") {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Array(_)) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| CoreError::bad(format!("failed to parse batch input: {e}"))),
        Some(_) => Err(CoreError::bad("batch_input must be a list")),
    }
}

/// The single-request form of an item: the request body itself.
fn single<T: serde::de::DeserializeOwned>(req: &Request) -> CoreResult<T> {
    let mut m = Map::new();
    for (k, v) in &req.data {
        // Vault's key_version may come as text from query-style clients.
        if k == "key_version" {
            if let Some(n) = fields::opt_u64(&req.data, k)? {
                m.insert(k.clone(), Value::from(n));
            }
            continue;
        }
        m.insert(k.clone(), v.clone());
    }
    serde_json::from_value(Value::Object(m))
        .map_err(|e| CoreError::bad(format!("invalid request: {e}")))
}

fn batch_response(req: &Request, results: Vec<ItemOutcome>) -> CoreResult<Response> {
    let failed = results.iter().any(|r| r.error.is_some());
    let data = obj! { "batch_results" => serde_json::to_value(&results)? };
    if !failed {
        return Ok(Response::data(data));
    }
    let code = fields::opt_u64(&req.data, "partial_failure_response_code")?.unwrap_or(400);
    if !(200..=599).contains(&code) {
        return Err(CoreError::bad("invalid partial_failure_response_code"));
    }
    Ok(Response { data: Some(data), ..Response::raw(code as u16, None) })
}

/// Creates the key on first encrypt (Vault's upsert); the ACL already required `create`.
fn upsert(ctx: &Ctx<'_>, req: &Request, name: &str, derived: bool) -> CoreResult<SharedKey> {
    if let Some(k) = ctx.cache.get(ctx, name)? {
        return Ok(k);
    }
    let key_type = match fields::opt_str(&req.data, "type")? {
        None | Some("") => KeyType::Aes256Gcm96,
        Some(t) => t.parse().map_err(transit_err)?,
    };
    let mut opts = KeyOptions::new(key_type);
    opts.derived = derived;
    opts.convergent_encryption =
        fields::opt_bool(&req.data, "convergent_encryption")?.unwrap_or(false);
    let key = Key::create(name, opts).map_err(transit_err)?;
    ctx.cache.insert_new(ctx, key)
}

pub fn encrypt(ctx: &Ctx<'_>, req: &Request, tail: &str) -> CoreResult<Response> {
    let (name, _) = name_and_suffix(tail)?;
    if let Some(items) = batch::<EncryptItem>(req)? {
        let derived = items.first().map(|i| i.context.as_deref().is_some_and(|c| !c.is_empty()));
        let k = upsert(ctx, req, name, derived.unwrap_or(false))?;
        let results = read(&k)?.encrypt_batch(&items);
        return batch_response(req, results);
    }
    let item: EncryptItem = single(req)?;
    if item.plaintext.is_none() {
        return Err(CoreError::bad("missing plaintext to encrypt"));
    }
    let k = upsert(ctx, req, name, item.context.as_deref().is_some_and(|c| !c.is_empty()))?;
    let out = read(&k)?.encrypt_item(&item).map_err(transit_err)?;
    Ok(Response::data(obj! { "ciphertext" => out.ciphertext, "key_version" => out.key_version }))
}

pub fn decrypt(ctx: &Ctx<'_>, req: &Request, tail: &str) -> CoreResult<Response> {
    let (name, _) = name_and_suffix(tail)?;
    let k = existing(ctx, name)?;
    if let Some(items) = batch::<DecryptItem>(req)? {
        let results = read(&k)?.decrypt_batch(&items);
        return batch_response(req, results);
    }
    let item: DecryptItem = single(req)?;
    let plaintext = read(&k)?.decrypt_item(&item).map_err(transit_err)?;
    let mut m = Map::with_capacity(1);
    m.insert("plaintext".into(), Value::String(plaintext.to_string()));
    Ok(Response::data(m))
}

pub fn rewrap(ctx: &Ctx<'_>, req: &Request, tail: &str) -> CoreResult<Response> {
    let (name, _) = name_and_suffix(tail)?;
    let k = existing(ctx, name)?;
    if let Some(items) = batch::<DecryptItem>(req)? {
        let results = read(&k)?.rewrap_batch(&items);
        return batch_response(req, results);
    }
    let item: DecryptItem = single(req)?;
    let out = read(&k)?.rewrap_item(&item).map_err(transit_err)?;
    Ok(Response::data(obj! { "ciphertext" => out.ciphertext, "key_version" => out.key_version }))
}

/// `key_version`, rejecting values that do not fit (no silent truncation).
fn key_version(req: &Request) -> CoreResult<Option<u32>> {
    fields::opt_u64(&req.data, "key_version")?
        .map(|v| u32::try_from(v).map_err(|_| CoreError::bad("invalid key_version")))
        .transpose()
}

fn b64_field(req: &Request, name: &'static str) -> CoreResult<Option<Vec<u8>>> {
    match fields::opt_str(&req.data, name)?.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Some)
            .map_err(|_| CoreError::bad(format!("failed to base64-decode {name}"))),
    }
}

pub fn datakey(ctx: &Ctx<'_>, req: &Request, tail: &str) -> CoreResult<Response> {
    let (kind, name) = tail
        .split_once('/')
        .ok_or_else(|| CoreError::bad("datakey needs a type and a key name"))?;
    let kind =
        DataKeyKind::parse(kind).ok_or_else(|| CoreError::bad(format!("invalid type {kind:?}")))?;
    let (name, _) = name_and_suffix(name)?;
    let k = existing(ctx, name)?;
    let bits = fields::opt_u64(&req.data, "bits")?.unwrap_or(256);
    let bits = u32::try_from(bits).map_err(|_| CoreError::bad("invalid bits"))?;
    let context = b64_field(req, "context")?;
    let nonce = b64_field(req, "nonce")?;
    let p = EncryptParams {
        context: context.as_deref(),
        nonce: nonce.as_deref(),
        key_version: key_version(req)?,
        associated_data: None,
    };
    let dk = read(&k)?.datakey(kind, bits, &p).map_err(transit_err)?;
    let mut m = obj! { "ciphertext" => dk.ciphertext, "key_version" => dk.key_version };
    if let Some(pt) = dk.plaintext {
        m.insert(
            "plaintext".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(pt.as_slice())),
        );
    }
    Ok(Response::data(m))
}

/// The hash algorithm from the path suffix or the `algorithm`/`hash_algorithm` fields.
fn algorithm(req: &Request, suffix: Option<&str>) -> CoreResult<HashAlgorithm> {
    let name = match suffix {
        Some(s) => s,
        None => fields::opt_str(&req.data, "hash_algorithm")?
            .or(fields::opt_str(&req.data, "algorithm")?)
            .unwrap_or(""),
    };
    HashAlgorithm::parse(name).map_err(transit_err)
}

fn input_items(req: &Request) -> CoreResult<(Vec<InputItem>, bool)> {
    match batch::<InputItem>(req)? {
        Some(items) => Ok((items, true)),
        None => Ok((vec![single(req)?], false)),
    }
}

/// Returns the single item's result (or its error as a 400), or the batch response.
fn finish(
    req: &Request,
    mut results: Vec<ItemOutcome>,
    is_batch: bool,
    fields_out: &[&str],
) -> CoreResult<Response> {
    if is_batch {
        return batch_response(req, results);
    }
    let item = results.pop().ok_or_else(|| CoreError::internal("no result"))?;
    if let Some(e) = item.error {
        return Err(CoreError::BadRequest(e));
    }
    let v = serde_json::to_value(&item)?;
    let mut m = Map::new();
    for f in fields_out {
        if let Some(x) = v.get(*f) {
            m.insert((*f).to_owned(), x.clone());
        }
    }
    Ok(Response::data(m))
}

pub fn hmac(ctx: &Ctx<'_>, req: &Request, tail: &str) -> CoreResult<Response> {
    let (name, suffix) = name_and_suffix(tail)?;
    let k = existing(ctx, name)?;
    let alg = algorithm(req, suffix)?;
    let version = key_version(req)?;
    let (items, is_batch) = input_items(req)?;
    let results = read(&k)?.hmac_batch(&items, alg, version);
    finish(req, results, is_batch, &["hmac"])
}

fn sign_params<'a>(req: &Request, suffix: Option<&str>) -> CoreResult<SignParams<'a>> {
    Ok(SignParams {
        key_version: key_version(req)?,
        hash_algorithm: algorithm(req, suffix)?,
        prehashed: fields::opt_bool(&req.data, "prehashed")?.unwrap_or(false),
        marshaling: Marshaling::parse(
            fields::opt_str(&req.data, "marshaling_algorithm")?.unwrap_or(""),
        )
        .map_err(transit_err)?,
        context: None,
    })
}

pub fn sign(ctx: &Ctx<'_>, req: &Request, tail: &str) -> CoreResult<Response> {
    let (name, suffix) = name_and_suffix(tail)?;
    let k = existing(ctx, name)?;
    let p = sign_params(req, suffix)?;
    let (items, is_batch) = input_items(req)?;
    let results = read(&k)?.sign_batch(&items, &p);
    finish(req, results, is_batch, &["signature", "key_version"])
}

pub fn verify(ctx: &Ctx<'_>, req: &Request, tail: &str) -> CoreResult<Response> {
    let (name, suffix) = name_and_suffix(tail)?;
    let k = existing(ctx, name)?;
    let (items, is_batch) = input_items(req)?;
    let key = read(&k)?;
    let is_hmac = items.first().is_some_and(|i| i.hmac.is_some());
    let results = if is_hmac {
        key.verify_hmac_batch(&items, algorithm(req, suffix)?)
    } else {
        key.verify_batch(&items, &sign_params(req, suffix)?)
    };
    finish(req, results, is_batch, &["valid"])
}

/// `random[/<bytes>][/<format>]` (also `random/<format>`).
pub fn random(req: &Request, tail: &str) -> CoreResult<Response> {
    let mut bytes = fields::opt_u64(&req.data, "bytes")?.unwrap_or(32);
    let mut format = fields::opt_str(&req.data, "format")?.unwrap_or("base64").to_owned();
    for seg in tail.split('/').filter(|s| !s.is_empty()) {
        match seg.parse::<u64>() {
            Ok(n) => bytes = n,
            Err(_) => format = seg.to_owned(),
        }
    }
    if bytes == 0 || bytes > 128 * 1024 {
        return Err(CoreError::bad("bytes must be between 1 and 131072"));
    }
    let mut buf = vec![0u8; bytes as usize];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut buf);
    let out = match format.as_str() {
        "base64" => base64::engine::general_purpose::STANDARD.encode(&buf),
        "hex" => hex::encode(&buf),
        _ => return Err(CoreError::bad(format!("unsupported encoding format {format:?}"))),
    };
    Ok(Response::data(obj! { "random_bytes" => out }))
}

/// `hash[/<algorithm>]`: a plain digest of `input` (no key involved).
pub fn hash(req: &Request, tail: &str) -> CoreResult<Response> {
    use sha2::Digest as _;
    let input = b64_field(req, "input")?.unwrap_or_default();
    let alg = match tail.trim_matches('/') {
        "" => fields::opt_str(&req.data, "algorithm")?.unwrap_or("sha2-256").to_owned(),
        t => t.to_owned(),
    };
    let sum: Vec<u8> = match alg.as_str() {
        "sha2-224" => sha2::Sha224::digest(&input).to_vec(),
        "sha2-256" => sha2::Sha256::digest(&input).to_vec(),
        "sha2-384" => sha2::Sha384::digest(&input).to_vec(),
        "sha2-512" => sha2::Sha512::digest(&input).to_vec(),
        other => return Err(CoreError::bad(format!("unsupported algorithm {other:?}"))),
    };
    let out = match fields::opt_str(&req.data, "format")?.unwrap_or("hex") {
        "hex" => hex::encode(&sum),
        "base64" => base64::engine::general_purpose::STANDARD.encode(&sum),
        other => return Err(CoreError::bad(format!("unsupported encoding format {other:?}"))),
    };
    Ok(Response::data(obj! { "sum" => out }))
}
