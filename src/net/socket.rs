//! Raw IP-protocol-112 sockets carrying VRRP adverts.
