// Key files as js-libp2p (npm @libp2p/crypto and @libp2p/peer-id) writes and reads them.
//
//   node keys.mjs generate <ed25519|secp256k1|ecdsa|rsa> <FILE>   write a new protobuf PrivateKey
//   node keys.mjs peer-id <FILE>                                  read a protobuf PrivateKey
//
// Both print what `hyphae id` prints: `PeerId: <base58>` and `PublicKey: <protobuf hex>`.
//
// ECDSA differs from peer-ids.md in js-libp2p (checked with @libp2p/crypto 5.1.23 and
// @libp2p/peer-id 6.0.15): its protobuf PublicKey carries a SEC1 `ECPrivateKey` structure with
// the secret left out instead of a PKIX SubjectPublicKeyInfo, its toMultihash() uses the identity
// hash although that key is longer than 42 bytes, and @libp2p/peer-id refuses ECDSA keys
// (UnsupportedKeyTypeError). For ECDSA this prints the id js-libp2p's key itself reports
// (publicKey.toString()), so both lines show what js-libp2p does; the interop test compares
// the curve point. Private key files (SEC1 ECPrivateKey) do match the spec.

import { readFileSync, writeFileSync } from 'node:fs'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

const USAGE = 'usage: node keys.mjs generate <ed25519|secp256k1|ecdsa|rsa> <FILE>\n       node keys.mjs peer-id <FILE>'

async function generate (keyType, file) {
  let key
  switch (keyType.toLowerCase()) {
    case 'ed25519': key = await generateKeyPair('Ed25519'); break
    case 'secp256k1': key = await generateKeyPair('secp256k1'); break
    case 'ecdsa': key = await generateKeyPair('ECDSA', 'P-256'); break
    case 'rsa': key = await generateKeyPair('RSA', 2048); break
    default: throw new Error(`unknown key type "${keyType}": expected ed25519, secp256k1, ecdsa or rsa`)
  }
  writeFileSync(file, privateKeyToProtobuf(key), { mode: 0o600 })
  printIdentity(key)
}

async function peerId (file) {
  let bytes
  try {
    bytes = readFileSync(file)
  } catch (err) {
    throw new Error(`read ${file}: ${err.message}`)
  }
  let key
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new Error(`decode the key in ${file}: ${err.message}`)
  }
  printIdentity(key)
}

function printIdentity (key) {
  const publicKey = publicKeyToProtobuf(key.publicKey)
  const id = key.type === 'ECDSA' ? key.publicKey.toString() : peerIdFromPrivateKey(key).toString()
  process.stdout.write(`PeerId: ${id}\nPublicKey: ${Buffer.from(publicKey).toString('hex')}\n`)
}

const [command, ...args] = process.argv.slice(2)
try {
  if (command === 'generate' && args.length === 2) {
    await generate(args[0], args[1])
  } else if (command === 'peer-id' && args.length === 1) {
    await peerId(args[0])
  } else {
    throw new Error(USAGE)
  }
} catch (err) {
  process.stderr.write(`error: ${err.message}\n`)
  process.exit(1)
}
