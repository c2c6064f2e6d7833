package server

import (
	"github.com/tickwire/tickwire/engine/cluster"
	"github.com/tickwire/tickwire/engine/social"
	"github.com/tickwire/tickwire/engine/social/natsbroker"
)

// socialBroker gives a clustered server's social service its Broker over
// the node's NATS connection (docs/CLUSTER.md, "Social across nodes"),
// unless the embedder set one. It is closed after the engine stopped,
// before the node's connection.
func (s *Server) socialBroker(sc *social.Config) *natsbroker.Broker {
	if s.cluster == nil || sc.Broker != nil {
		return nil
	}
	node := s.cluster.node
	b := natsbroker.New(node.Conn(), 0, 0)
	s.closer = append(s.closer, func() error { b.Close(); return nil })
	sc.Broker, sc.NodeID = b, node.ID()
	if sc.ClusterPrefix == "" {
		sc.ClusterPrefix = node.SubjectPrefix() + ".social"
	}
	return b
}

// wireSocialCluster points the membership's notifications and the
// broker's reconnects at the social service.
func (s *Server) wireSocialCluster(b *natsbroker.Broker) {
	if s.cluster == nil {
		return
	}
	if b != nil {
		b.SetGap(s.social.BrokerReconnected)
	}
	s.cluster.node.OnNodeGone(s.social.NodeGone)
	s.cluster.node.OnNodeUp(func(n cluster.NodeInfo) { s.social.NodeUp(n.ID) })
}
