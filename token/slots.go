package token

import (
	"sort"

	"github.com/p11kms/p11kms/ck"
	"github.com/p11kms/p11kms/mechanisms"
)

// slot returns the slot with the id.
func (m *Module) slot(id uint) (*slot, error) {
	if id >= uint(len(m.slots)) {
		return nil, Errorf(ck.CKR_SLOT_ID_INVALID, "no slot %d (there are %d)", id, len(m.slots))
	}
	return m.slots[id], nil
}

// SlotList implements C_GetSlotList: one slot per configured token, ids 0..n-1,
// each with its token present.
func (m *Module) SlotList(tokenPresent bool) ([]uint, error) {
	done, err := m.enter()
	defer done()
	if err != nil {
		return nil, err
	}
	ids := make([]uint, len(m.slots))
	for i := range m.slots {
		ids[i] = uint(i)
	}
	return ids, nil
}

// SlotInfo implements C_GetSlotInfo.
func (m *Module) SlotInfo(id uint) (SlotInfo, error) {
	done, err := m.enter()
	defer done()
	if err != nil {
		return SlotInfo{}, err
	}
	s, err := m.slot(id)
	if err != nil {
		return SlotInfo{}, err
	}
	return SlotInfo{
		Description:     "p11kms AWS KMS slot " + s.cfg.Label,
		Manufacturer:    Manufacturer,
		Flags:           ck.CKF_TOKEN_PRESENT,
		HardwareVersion: LibraryVersion,
		FirmwareVersion: LibraryVersion,
	}, nil
}

// TokenInfo implements C_GetTokenInfo. CKF_LOGIN_REQUIRED is set only when a
// PIN is configured; CKF_RNG because C_GenerateRandom draws from KMS.
func (m *Module) TokenInfo(id uint) (TokenInfo, error) {
	done, err := m.enter()
	defer done()
	if err != nil {
		return TokenInfo{}, err
	}
	s, err := m.slot(id)
	if err != nil {
		return TokenInfo{}, err
	}
	flags := uint(ck.CKF_TOKEN_INITIALIZED | ck.CKF_USER_PIN_INITIALIZED | ck.CKF_RNG)
	if s.pin != nil {
		flags |= ck.CKF_LOGIN_REQUIRED
		s.loginMu.Lock()
		if s.failedLogins >= s.maxPINAttempts() {
			flags |= ck.CKF_USER_PIN_LOCKED
		}
		s.loginMu.Unlock()
	}
	var all, rw uint
	for _, sess := range m.sessions.values() {
		if sess.slot == s {
			all++
			if sess.flags&ck.CKF_RW_SESSION != 0 {
				rw++
			}
		}
	}
	return TokenInfo{
		Label:              s.cfg.Label,
		Manufacturer:       Manufacturer,
		Model:              "AWS KMS",
		SerialNumber:       s.serial,
		Flags:              flags,
		MaxSessionCount:    ck.EffectivelyInfinite,
		SessionCount:       all,
		MaxRwSessionCount:  ck.EffectivelyInfinite,
		RwSessionCount:     rw,
		MaxPinLen:          maxPINLen,
		MinPinLen:          0,
		TotalPublicMemory:  ck.UnavailableInformation,
		FreePublicMemory:   ck.UnavailableInformation,
		TotalPrivateMemory: ck.UnavailableInformation,
		FreePrivateMemory:  ck.UnavailableInformation,
		HardwareVersion:    LibraryVersion,
		FirmwareVersion:    LibraryVersion,
	}, nil
}

// tokenSpecs returns the distinct (spec, usage) pairs of the token's keys,
// discovering them if needed. If discovery fails it returns ok=false.
func (m *Module) tokenSpecs(s *slot) (map[mechanisms.KeyUse]bool, bool) {
	keys, err := s.keys.list(m.ctx, m.objects)
	if err != nil {
		s.log.Warn("mechanism list: key discovery failed; listing every mechanism the module supports", "err", err)
		return nil, false
	}
	specs := map[mechanisms.KeyUse]bool{}
	for _, k := range keys {
		specs[mechanisms.KeyUse{Spec: k.info.Spec, Usage: k.info.Usage}] = true
	}
	return specs, true
}

// MechanismList implements C_GetMechanismList: the mechanisms the token's keys
// can use, plus the digests, which need no key (every supported mechanism when
// the keys cannot be listed).
func (m *Module) MechanismList(id uint) ([]uint, error) {
	done, err := m.enter()
	defer done()
	if err != nil {
		return nil, err
	}
	s, err := m.slot(id)
	if err != nil {
		return nil, err
	}
	specs, ok := m.tokenSpecs(s)
	if !ok {
		return mechanisms.AllMechanisms(), nil
	}
	set := map[uint]bool{}
	for _, mech := range mechanisms.DigestMechanisms() {
		set[mech] = true
	}
	for ku := range specs {
		for _, mech := range mechanisms.MechanismsFor(ku.Spec, ku.Usage) {
			set[mech] = true
		}
	}
	out := make([]uint, 0, len(set))
	for mech := range set {
		out = append(out, mech)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// MechanismInfo implements C_GetMechanismInfo, with key sizes over the
// token's keys of the mechanism's family (digests: always, key sizes 0).
func (m *Module) MechanismInfo(id, mech uint) (MechanismInfo, error) {
	done, err := m.enter()
	defer done()
	if err != nil {
		return MechanismInfo{}, err
	}
	s, err := m.slot(id)
	if err != nil {
		return MechanismInfo{}, err
	}
	var list []mechanisms.KeyUse
	if specs, ok := m.tokenSpecs(s); ok {
		for ku := range specs {
			list = append(list, ku)
		}
	}
	min, max, flags, ok := mechanisms.InfoFor(mech, list)
	if !ok {
		return MechanismInfo{}, Errorf(ck.CKR_MECHANISM_INVALID, "%s is not offered by token %q", ck.MechName(mech), s.cfg.Label)
	}
	return MechanismInfo{MinKeySize: min, MaxKeySize: max, Flags: flags}, nil
}
