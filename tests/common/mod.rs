//! Helpers shared by the integration tests.

use std::fs::File;
use std::path::Path;

use pcap_file::pcap::PcapReader;
use pcap_file::DataLink;

/// The frames of a keepalived capture in `tests/fixtures`, checked to be Ethernet.
pub fn capture_frames(file: &str) -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
    let mut reader = PcapReader::new(File::open(&path).unwrap()).unwrap();
    assert_eq!(reader.header().datalink, DataLink::ETHERNET, "{file}");
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        frames.push(packet.unwrap().data.into_owned());
    }
    frames
}
