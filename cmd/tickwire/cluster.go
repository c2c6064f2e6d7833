package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/tickwire/tickwire/server"
)

// clusterFlags reads -nats, -nats-embedded, -node-id and -advertise:
// all empty is a single node.
func clusterFlags(urls, embedded, nodeID, advertise string) (server.ClusterConfig, error) {
	var c server.ClusterConfig
	for _, u := range strings.Split(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.NATS = append(c.NATS, u)
		}
	}
	switch embedded {
	case "", "off":
	case "on":
		c.EmbeddedNATS, c.EmbeddedAddr = true, server.DefaultEmbeddedNATSAddr
	default:
		c.EmbeddedNATS, c.EmbeddedAddr = true, embedded
	}
	if !c.Enabled() {
		if nodeID != "" || advertise != "" {
			return c, fmt.Errorf("-node-id and -advertise need -nats or -nats-embedded")
		}
		return c, nil
	}
	c.NodeID, c.Advertise = nodeID, advertise
	if c.NodeID == "" {
		host, err := os.Hostname()
		if err != nil {
			return c, fmt.Errorf("-node-id: no host name to default to: %w", err)
		}
		c.NodeID = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				return r
			}
			return '-'
		}, host)
	}
	return c, nil
}
