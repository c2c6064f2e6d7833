package social

import (
	"context"
	"errors"
	"time"

	"github.com/tickwire/tickwire/netcode/frame"
)

// CreateGroup creates a group owned by user, open to anyone or joined by
// invitation only.
func (s *Service) CreateGroup(ctx context.Context, now time.Time, user, name string, access frame.GroupAccess) (frame.Group, error) {
	name, err := frame.CleanText(frame.TextGroupName, name)
	if err != nil {
		return frame.Group{}, err
	}
	g := frame.Group{Name: name, Open: bool(access), Role: frame.RoleOwner, Members: 1, OwnerID: user}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err = s.st.InTx(ctx, func(tx Ops) error {
		n, err := tx.CountGroupsOf(ctx, user)
		if err != nil {
			return err
		}
		if n >= s.cfg.MaxGroupsPerUser {
			return s.refuseLimit("member of too many groups")
		}
		if g.ID, err = tx.CreateGroup(ctx, name, access, user, now.UnixMicro()); err != nil {
			return err
		}
		return tx.AddMember(ctx, g.ID, user, frame.RoleOwner, now.UnixMicro())
	})
	if err != nil {
		return frame.Group{}, err
	}
	return g, nil
}

// JoinGroup joins an open group, or an invite-only one user was invited to.
func (s *Service) JoinGroup(ctx context.Context, now time.Time, user string, groupID uint64) error {
	return s.join(ctx, now, user, groupID, joinOpenOrInvited)
}

// AcceptInvite accepts an invitation to a group.
func (s *Service) AcceptInvite(ctx context.Context, now time.Time, user string, groupID uint64) error {
	return s.join(ctx, now, user, groupID, joinByInvite)
}

// joinRule says what entitles a user to join a group.
type joinRule uint8

const (
	joinOpenOrInvited joinRule = iota // JoinGroup: the group is open, or the user was invited
	joinByInvite                      // AcceptInvite: the user holds an invitation
)

func (s *Service) join(ctx context.Context, now time.Time, user string, groupID uint64, rule joinRule) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var g GroupRow
	err := s.st.InTx(ctx, func(tx Ops) error {
		var err error
		if g, err = tx.Group(ctx, groupID); err != nil {
			return err
		}
		if _, err := tx.Role(ctx, groupID, user); err == nil {
			return ErrAlreadyMember
		} else if !errors.Is(err, ErrNotMember) {
			return err
		}
		invited, err := tx.Invited(ctx, groupID, user)
		if err != nil {
			return err
		}
		switch {
		case rule == joinByInvite && !invited:
			return ErrRequestNotFound
		case !g.Open && !invited:
			return ErrInviteOnly
		}
		n, err := tx.CountMembers(ctx, groupID)
		if err != nil {
			return err
		}
		if n >= s.cfg.MaxGroupMembers {
			return s.refuseLimit("the group is full")
		}
		if n, err = tx.CountGroupsOf(ctx, user); err != nil {
			return err
		}
		if n >= s.cfg.MaxGroupsPerUser {
			return s.refuseLimit("member of too many groups")
		}
		if _, err := tx.DeleteInvite(ctx, groupID, user); err != nil {
			return err
		}
		return tx.AddMember(ctx, groupID, user, frame.RoleMember, now.UnixMicro())
	})
	if err != nil {
		return err
	}
	s.membershipChangedLocked(ctx, frame.GroupUpdate{Event: frame.GroupEventJoined, GroupID: groupID, GroupName: g.Name, UserID: user, ActorID: user, Role: frame.RoleMember})
	return nil
}

// InviteToGroup invites other. In an open group any member may invite; in
// an invite-only group only owners and admins. A user holds at most
// MaxPendingInvites invitations (CodeSocialLimit beyond); inviting again
// is not refused by it.
func (s *Service) InviteToGroup(ctx context.Context, now time.Time, user string, groupID uint64, other string) error {
	if other == user {
		return ErrSelf
	}
	if err := s.userExists(ctx, other); err != nil {
		return err
	}
	s.writeMu.Lock() // makes the invitation count and insert one step
	defer s.writeMu.Unlock()
	var g GroupRow
	err := s.st.InTx(ctx, func(tx Ops) error {
		var err error
		if g, err = tx.Group(ctx, groupID); err != nil {
			return err
		}
		r, err := tx.Role(ctx, groupID, user)
		if err != nil {
			return err
		}
		if !g.Open && r < frame.RoleAdmin {
			return ErrNotAdmin
		}
		if _, err := tx.Role(ctx, groupID, other); err == nil {
			return ErrAlreadyMember
		} else if !errors.Is(err, ErrNotMember) {
			return err
		}
		if b, err := tx.Relation(ctx, other, user); err != nil {
			return err
		} else if b == frame.FriendBlocked {
			return ErrBlocked
		}
		if again, err := tx.Invited(ctx, groupID, other); err != nil || again {
			return err
		}
		if n, err := tx.CountInvites(ctx, other); err != nil {
			return err
		} else if n >= s.cfg.MaxPendingInvites {
			return s.refuseLimit("the user has too many pending invitations")
		}
		return tx.AddInvite(ctx, groupID, other, user, now.UnixMicro())
	})
	if err != nil {
		return err
	}
	s.push(frame.GroupUpdate{Event: frame.GroupEventInvited, GroupID: groupID, GroupName: g.Name, UserID: other, ActorID: user, Role: frame.RoleInvited}, user, other)
	return nil
}

// DeclineInvite declines an invitation.
func (s *Service) DeclineInvite(ctx context.Context, now time.Time, user string, groupID uint64) error {
	found, err := s.st.DeleteInvite(ctx, groupID, user)
	if err != nil {
		return err
	}
	if !found {
		return ErrRequestNotFound
	}
	s.push(frame.GroupUpdate{Event: frame.GroupEventDeclined, GroupID: groupID, UserID: user, ActorID: user, Role: frame.RoleInvited}, user)
	return nil
}

// LeaveGroup leaves a group. An owner who leaves hands the group to the
// longest-standing admin, else member; the last member leaving deletes it.
func (s *Service) LeaveGroup(ctx context.Context, now time.Time, user string, groupID uint64) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var g GroupRow
	newOwner := ""
	err := s.st.InTx(ctx, func(tx Ops) error {
		var err error
		if g, err = tx.Group(ctx, groupID); err != nil {
			return err
		}
		r, err := tx.Role(ctx, groupID, user)
		if err != nil {
			return err
		}
		if err := tx.RemoveMember(ctx, groupID, user); err != nil {
			return err
		}
		if r != frame.RoleOwner {
			return nil
		}
		next, ok, err := tx.NextOwner(ctx, groupID)
		if err != nil {
			return err
		}
		if !ok {
			return tx.DeleteGroup(ctx, groupID)
		}
		newOwner = next
		return tx.SetOwner(ctx, groupID, newOwner)
	})
	if err != nil {
		return err
	}
	s.membershipChangedLocked(ctx, frame.GroupUpdate{Event: frame.GroupEventLeft, GroupID: groupID, GroupName: g.Name, UserID: user, ActorID: user}, user)
	if newOwner != "" {
		s.membershipChangedLocked(ctx, frame.GroupUpdate{Event: frame.GroupEventRoleChanged, GroupID: groupID, GroupName: g.Name, UserID: newOwner, ActorID: user, Role: frame.RoleOwner})
	}
	return nil
}

// RemoveMember removes other from the group: the owner may remove anyone
// else, an admin plain members.
func (s *Service) RemoveMember(ctx context.Context, now time.Time, user string, groupID uint64, other string) error {
	if other == user {
		return ErrSelf
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var g GroupRow
	err := s.st.InTx(ctx, func(tx Ops) error {
		var err error
		if g, err = tx.Group(ctx, groupID); err != nil {
			return err
		}
		r, err := tx.Role(ctx, groupID, user)
		if err != nil {
			return err
		}
		if r < frame.RoleAdmin {
			return ErrNotAdmin
		}
		or, err := tx.Role(ctx, groupID, other)
		if err != nil {
			return err
		}
		if or >= r {
			return ErrNotAdmin
		}
		return tx.RemoveMember(ctx, groupID, other)
	})
	if err != nil {
		return err
	}
	s.membershipChangedLocked(ctx, frame.GroupUpdate{Event: frame.GroupEventRemoved, GroupID: groupID, GroupName: g.Name, UserID: other, ActorID: user}, other)
	return nil
}

// SetRole makes other an admin or a plain member (owner only).
func (s *Service) SetRole(ctx context.Context, now time.Time, user string, groupID uint64, other string, r frame.Role) error {
	if r != frame.RoleMember && r != frame.RoleAdmin {
		return badRequest("role must be member (1) or admin (2)")
	}
	if other == user {
		return ErrSelf
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var g GroupRow
	err := s.st.InTx(ctx, func(tx Ops) error {
		var err error
		if g, err = tx.Group(ctx, groupID); err != nil {
			return err
		}
		ur, err := tx.Role(ctx, groupID, user)
		if err != nil {
			return err
		}
		if ur != frame.RoleOwner {
			return ErrNotAdmin
		}
		if _, err := tx.Role(ctx, groupID, other); err != nil {
			return err
		}
		return tx.SetMemberRole(ctx, groupID, other, r)
	})
	if err != nil {
		return err
	}
	s.membershipChangedLocked(ctx, frame.GroupUpdate{Event: frame.GroupEventRoleChanged, GroupID: groupID, GroupName: g.Name, UserID: other, ActorID: user, Role: r})
	return nil
}

// membershipChangedLocked (under writeMu) reloads the group's cached
// membership and pushes u to its members and to extra users.
func (s *Service) membershipChangedLocked(ctx context.Context, u frame.GroupUpdate, extra ...string) {
	delete(s.groups, u.GroupID)
	gi, err := s.groupLocked(ctx, u.GroupID)
	var to []string
	if err == nil {
		to = gi.list
	} else if !errors.Is(err, ErrGroupNotFound) {
		s.log.Warn("social: reload group", "group", u.GroupID, "err", err)
	}
	s.push(u, append(extra, to...)...)
}

// push sends a GroupUpdate to the online sessions of users.
func (s *Service) push(u frame.GroupUpdate, users ...string) {
	data, err := frame.Marshal(&u)
	if err != nil {
		s.log.Error("social: encode group update", "err", err)
		return
	}
	s.mu.Lock()
	for _, id := range users {
		s.sendUserLocked(id, data)
	}
	s.mu.Unlock()
	if s.cl != nil {
		s.publishFrame(data, users...)
	}
}

// groupLocked (under writeMu) returns the group's cached membership,
// loading it if needed.
func (s *Service) groupLocked(ctx context.Context, id uint64) (*groupInfo, error) {
	if s.cl != nil {
		// Another node may have changed the membership a moment ago: in
		// a cluster the membership is read from the shared store for
		// every message (docs/CLUSTER.md says what this costs).
		delete(s.groups, id)
	}
	if gi := s.groups[id]; gi != nil {
		return gi, nil
	}
	g, err := s.st.Group(ctx, id)
	if err != nil {
		return nil, err
	}
	ms, err := s.st.Members(ctx, id, "", s.cfg.MaxGroupMembers+1)
	if err != nil {
		return nil, err
	}
	gi := &groupInfo{name: g.Name, members: make(map[string]frame.Role, len(ms)), list: make([]string, len(ms))}
	for i, m := range ms {
		gi.members[m.UserID] = m.Role
		gi.list[i] = m.UserID
	}
	const maxCachedGroups = 4096
	if len(s.groups) >= maxCachedGroups {
		for k := range s.groups { // evict an arbitrary entry
			delete(s.groups, k)
			break
		}
	}
	s.groups[id] = gi
	return gi, nil
}

// Members lists a group's members (members only), ordered by user id.
func (s *Service) Members(ctx context.Context, user string, groupID uint64, after string, n int) ([]frame.Member, bool, error) {
	if n <= 0 || n > maxMembersPage {
		n = maxMembersPage
	}
	if _, err := s.st.Group(ctx, groupID); err != nil {
		return nil, false, err
	}
	if _, err := s.st.Role(ctx, groupID, user); err != nil {
		return nil, false, err
	}
	rows, err := s.st.Members(ctx, groupID, after, n+1)
	if err != nil {
		return nil, false, err
	}
	more := len(rows) > n
	if more {
		rows = rows[:n]
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.UserID
	}
	us, err := s.users.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, false, err
	}
	out := make([]frame.Member, len(rows))
	s.mu.Lock()
	for i, r := range rows {
		out[i] = frame.Member{UserID: r.UserID, DisplayName: us[r.UserID].DisplayName, Role: r.Role}
		out[i].Presence, _, _, _ = s.presenceOfLocked(r.UserID)
	}
	s.mu.Unlock()
	out, cut := fitFirst(s, out, memberSize)
	return out, more || cut, nil
}

// maxMembersPage bounds the rows a GroupMembers page reads; fitFirst
// then cuts it to one frame.
const maxMembersPage = 250

// groupsPage bounds the rows one GroupList page reads; fitFirst then
// cuts it to one frame.
const groupsPage = 1000

// Groups lists all of user's groups and pending invitations (role
// RoleInvited), for the HTTP API.
func (s *Service) Groups(ctx context.Context, user string) ([]frame.Group, error) {
	var all []frame.Group
	var after uint64
	for {
		gs, err := s.st.UserGroups(ctx, user, after, groupsPage)
		if err != nil {
			return nil, err
		}
		all = append(all, gs...)
		if len(gs) < groupsPage {
			return all, nil
		}
		after = gs[len(gs)-1].ID
	}
}

// GroupsPage lists user's groups and pending invitations with an id
// above after, in a page that fits one frame; more says another page
// follows (ask again with after = the last id).
func (s *Service) GroupsPage(ctx context.Context, user string, after uint64) ([]frame.Group, bool, error) {
	gs, err := s.st.UserGroups(ctx, user, after, groupsPage+1)
	if err != nil {
		return nil, false, err
	}
	more := len(gs) > groupsPage
	if more {
		gs = gs[:groupsPage]
	}
	gs, cut := fitFirst(s, gs, groupSize)
	return gs, more || cut, nil
}
