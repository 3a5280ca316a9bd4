//! The protobuf messages of `peer-ids/peer-ids.md` and `RFC/0002-signed-envelopes.md`.
//!
//! The key messages' `required` proto2 fields are declared optional here so that decoding can
//! tell a missing field from a default one; encoders always set them, which gives the
//! deterministic encoding the peer-ids spec demands: fields in tag order, minimal varints.

/// `message PublicKey { required KeyType Type = 1; required bytes Data = 2; }`
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PublicKey {
    #[prost(int32, optional, tag = "1")]
    pub(crate) key_type: Option<i32>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub(crate) data: Option<Vec<u8>>,
}

/// `message PrivateKey { required KeyType Type = 1; required bytes Data = 2; }`
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PrivateKey {
    #[prost(int32, optional, tag = "1")]
    pub(crate) key_type: Option<i32>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub(crate) data: Option<Vec<u8>>,
}

/// `message Envelope { PublicKey public_key = 1; bytes payload_type = 2; bytes payload = 3;
/// bytes signature = 5; }`
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Envelope {
    #[prost(message, optional, tag = "1")]
    pub(crate) public_key: Option<PublicKey>,
    #[prost(bytes = "vec", tag = "2")]
    pub(crate) payload_type: Vec<u8>,
    #[prost(bytes = "vec", tag = "3")]
    pub(crate) payload: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    pub(crate) signature: Vec<u8>,
}

impl PublicKey {
    /// The key type and data, or the name of the missing required field.
    pub(crate) fn fields(&self) -> Result<(i32, &[u8]), &'static str> {
        required_fields(self.key_type, self.data.as_deref())
    }
}

impl PrivateKey {
    /// The key type and data, or the name of the missing required field.
    pub(crate) fn fields(&self) -> Result<(i32, &[u8]), &'static str> {
        required_fields(self.key_type, self.data.as_deref())
    }
}

fn required_fields(
    key_type: Option<i32>,
    data: Option<&[u8]>,
) -> Result<(i32, &[u8]), &'static str> {
    Ok((key_type.ok_or("Type")?, data.ok_or("Data")?))
}
