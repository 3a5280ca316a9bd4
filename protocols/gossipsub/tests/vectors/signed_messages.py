"""Computes the fixed vectors of tests/signing_vectors.rs independently of hyphae.

The protobuf bytes are written out by hand from pubsub/README.md's `Message` schema, the key
and peer-id encodings from peer-ids/peer-ids.md, and the signatures come from Python's
`cryptography` package, so the vectors check our encoder, key handling and signing against
code nobody here wrote. Run: python3 signed_messages.py (needs `cryptography`).
"""

import hashlib

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

PREFIX = b"libp2p-pubsub:"
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(number, payload):
    """A length-delimited field (wire type 2)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def base58(data):
    n = int.from_bytes(data, "big")
    text = ""
    while n:
        n, digit = divmod(n, 58)
        text = B58[digit] + text
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + text


def unsigned_message(from_, data, seqno, topic):
    # Fields in number order: from = 1, data = 2, seqno = 3, topic = 4.
    return field(1, from_) + field(2, data) + field(3, seqno) + field(4, topic)


def show(name, value):
    print(f"{name}: {value.hex()}")


data = b"hello gossipsub"
topic = b"hyphae-test"
seqno = (1_700_000_000_000_000_000).to_bytes(8, "big")

# Ed25519: the key is inlined in the peer id (identity multihash), no `key` field.
secret = bytes(range(32))
ed_key = ed25519.Ed25519PrivateKey.from_private_bytes(secret)
ed_public = ed_key.public_key().public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw
)
ed_public_pb = b"\x08\x01" + field(2, ed_public)  # KeyType Ed25519 = 1, Data = 2
ed_peer_id = b"\x00" + varint(len(ed_public_pb)) + ed_public_pb
ed_unsigned = unsigned_message(ed_peer_id, data, seqno, topic)
ed_signature = ed_key.sign(PREFIX + ed_unsigned)
print("ed25519")
show("  secret", secret)
show("  peer id", ed_peer_id)
print("  peer id base58:", base58(ed_peer_id))
show("  unsigned message", ed_unsigned)
show("  signature", ed_signature)
show("  signed message", ed_unsigned + field(5, ed_signature))
show("  default id (from || seqno)", ed_peer_id + seqno)
print("  rust-libp2p id text:", base58(ed_peer_id) + str(int.from_bytes(seqno, "big")))
show("  data sha-256 id", hashlib.sha256(data).digest())

# ECDSA P-256: the encoded key is 91 bytes, so the peer id hashes it and the message
# carries it in `key`. ECDSA signatures are randomised: this one is fixed once, verify-only.
ec_key = ec.derive_private_key(0x1234567890ABCDEF, ec.SECP256R1())
ec_public_der = ec_key.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)
ec_public_pb = b"\x08\x03" + field(2, ec_public_der)  # KeyType ECDSA = 3
ec_peer_id = b"\x12\x20" + hashlib.sha256(ec_public_pb).digest()
ec_unsigned = unsigned_message(ec_peer_id, data, seqno, topic)
ec_signature = ec_key.sign(PREFIX + ec_unsigned, ec.ECDSA(hashes.SHA256()))
print("ecdsa")
show("  public key protobuf", ec_public_pb)
show("  peer id", ec_peer_id)
show("  signature", ec_signature)
show(
    "  signed message",
    ec_unsigned + field(5, ec_signature) + field(6, ec_public_pb),
)
