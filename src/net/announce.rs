//! Gratuitous ARP and unsolicited NA frames over AF_PACKET.
