package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Payloads between nodes are JSON objects (docs/CLUSTER.md lists them).
// They come from other nodes through NATS, which anyone holding the NATS
// credentials can publish to, so every decoder bounds the size first and
// checks every field after.

// MaxHeartbeatSize bounds a heartbeat or goodbye payload.
const MaxHeartbeatSize = 1 << 10

var errBadPayload = errors.New("cluster: bad payload")

// heartbeat is published on <prefix>.node.hb every HeartbeatInterval;
// a goodbye (<prefix>.node.bye) has the same shape.
type heartbeat struct {
	NodeInfo
	// Seq is the last directory event the node published
	// (<prefix>.dir.ev.<id>): a node that applied less asks for a
	// snapshot.
	Seq uint64 `json:"seq"`
}

func decodeHeartbeat(b []byte) (heartbeat, error) {
	var hb heartbeat
	if len(b) > MaxHeartbeatSize {
		return hb, fmt.Errorf("%w: heartbeat of %d bytes", errBadPayload, len(b))
	}
	if err := json.Unmarshal(b, &hb); err != nil {
		return hb, fmt.Errorf("%w: %w", errBadPayload, err)
	}
	if !validNodeID(hb.ID) || hb.Boot <= 0 || !validURL(hb.URL) {
		return hb, fmt.Errorf("%w: heartbeat fields", errBadPayload)
	}
	return hb, nil
}
