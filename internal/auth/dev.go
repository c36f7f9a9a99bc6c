package auth

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// IsDevelopment reports whether the request in ctx runs in development mode
// (no sign-in provider configured, loopback only). The portal's layout shows
// a banner when it does.
func IsDevelopment(ctx context.Context) bool {
	p := PrincipalFrom(ctx)
	return p != nil && p.Via == ViaDevelopment
}

// CheckDevelopmentHost refuses development mode on anything but a loopback
// address: without a sign-in provider every request acts as the
// development user, which is only safe when nobody else can connect. host
// is backend.listen.host or the host of the listening address.
func CheckDevelopmentHost(host string) error {
	h := strings.Trim(host, "[]")
	if ip := net.ParseIP(h); (ip != nil && ip.IsLoopback()) || strings.EqualFold(h, "localhost") {
		return nil
	}
	if h == "" {
		h = "every interface"
	}
	return fmt.Errorf("no sign-in provider is configured (auth.providers), so Atrium would run in development mode, "+
		"where every request acts as the development user (auth.development.user); that is only allowed on a loopback address, "+
		"but backend.listen.host is %s: configure a provider under auth.providers.<id>.<auth.environment> "+
		"(see docs/security.md) or set backend.listen.host to 127.0.0.1", h)
}
