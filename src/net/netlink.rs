//! rtnetlink: VIP add/del, link and address events.
