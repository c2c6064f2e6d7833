package netcode

import (
	"net"
	"net/netip"
)

// AddrIP is the IP of addr, the key of per-address limits: that of a
// *net.TCPAddr or *net.UDPAddr, or one parsed from addr.String() ("ip:port"
// or a bare IP). IPv4-mapped IPv6 addresses are unmapped and zones dropped.
// ok is false when addr carries no IP (an in-memory link).
func AddrIP(addr net.Addr) (ip netip.Addr, ok bool) {
	switch a := addr.(type) {
	case nil:
		return netip.Addr{}, false
	case *net.TCPAddr:
		ip, ok = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, ok = netip.AddrFromSlice(a.IP)
	default:
		s := addr.String()
		if ap, err := netip.ParseAddrPort(s); err == nil {
			ip, ok = ap.Addr(), true
		} else if a, err := netip.ParseAddr(s); err == nil {
			ip, ok = a, true
		}
	}
	if !ok || !ip.IsValid() {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}
