//! protoreg-plugin-sdk: the C header, the messages against their `.proto`,
//! and the ABI table driven as a host would drive it.

mod abi;
mod header;
mod messages;
