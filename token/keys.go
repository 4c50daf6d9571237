package token

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/p11kms/p11kms/kmsbackend"
	"github.com/p11kms/p11kms/mechanisms"
)

// keyEntry is one discovered KMS key and the objects that stand for it.
type keyEntry struct {
	info   *kmsbackend.KeyInfo
	pub    *mechanisms.PublicKey
	priv   *object
	pubObj *object
	cert   *object // nil unless a certificate is configured for the key
	// secret is the one object of an HMAC key (attrs_secret.go) or of a
	// SYMMETRIC_DEFAULT key (attrs_symmetric.go), which has
	// no public key, private-key or certificate object; nil otherwise.
	secret *object
}

// objects returns the key's objects: private key, public key, certificate;
// or, for an HMAC key, its secret key.
func (e *keyEntry) objects() []*object {
	if e.secret != nil {
		return []*object{e.secret}
	}
	if e.cert != nil {
		return []*object{e.priv, e.pubObj, e.cert}
	}
	return []*object{e.priv, e.pubObj}
}

// keyCache discovers the token's keys lazily (at the first C_FindObjectsInit
// or C_GetMechanismList) and refreshes them after the token's cache TTL. Object
// handles of keys that stay are kept across refreshes.
type keyCache struct {
	s        *slot
	mu       sync.Mutex
	loaded   bool
	loadedAt time.Time
	entries  map[string]*keyEntry // by key ARN
	now      func() time.Time
}

func (c *keyCache) init(s *slot) {
	c.s, c.entries, c.now = s, map[string]*keyEntry{}, time.Now
}

// list returns the token's keys in a stable order (by label, then ARN),
// discovering or refreshing them when needed. objs is the module's object
// table, where new objects are registered and vanished ones removed.
func (c *keyCache) list(ctx context.Context, objs *handleTable[*object]) ([]*keyEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ttl := c.s.cfg.CacheTTL.or(defaultCacheTTL)
	if !c.loaded || c.now().Sub(c.loadedAt) > ttl {
		infos, err := c.discover(ctx)
		switch {
		case err != nil && !c.loaded:
			return nil, fromBackend("discovering keys", err)
		case err != nil:
			c.s.log.Warn("refreshing the key list failed; keeping the previous list", "err", err)
			c.loadedAt = c.now()
		default:
			c.apply(infos, objs)
			c.loaded, c.loadedAt = true, c.now()
		}
	}
	out := make([]*keyEntry, 0, len(c.entries))
	for _, e := range c.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		li, lj := keyObjectLabel(out[i].info), keyObjectLabel(out[j].info)
		if li != lj {
			return li < lj
		}
		return out[i].info.ARN < out[j].info.ARN
	})
	return out, nil
}

// apply replaces the entries with the discovered keys, keeping the objects
// (and so the handles) of keys whose description did not change.
func (c *keyCache) apply(infos []*kmsbackend.KeyInfo, objs *handleTable[*object]) {
	next := make(map[string]*keyEntry, len(infos))
	for _, info := range infos {
		if old, ok := c.entries[info.ARN]; ok && sameKey(old.info, info) {
			next[info.ARN] = old
			continue
		}
		e, err := c.newEntry(info, objs)
		if err != nil {
			c.s.log.Info("key skipped", "key", info.ARN, "spec", info.Spec.String(), "reason", err.Error())
			continue
		}
		next[info.ARN] = e
	}
	for arn, old := range c.entries {
		if next[arn] != old {
			for _, o := range old.objects() {
				objs.remove(o.handle)
			}
		}
	}
	c.entries = next
	c.s.log.Debug("keys discovered", "count", len(next))
}

// newEntry builds and registers the objects of one key.
func (c *keyCache) newEntry(info *kmsbackend.KeyInfo, objs *handleTable[*object]) (*keyEntry, error) {
	if info.Usage == kmsbackend.UsageGenerateVerifyMac {
		return c.newSecretEntry(info, objs) // HMAC keys have no public key (attrs_secret.go)
	}
	if info.Spec == kmsbackend.SpecSymmetricDefault {
		return c.newSymmetricEntry(info, objs) // KMS encryption keys (attrs_symmetric.go)
	}
	if _, ok := c.s.backend.(kmsbackend.KeyAgreer); !ok && info.Usage == kmsbackend.UsageKeyAgreement {
		return nil, fmt.Errorf("key %s: the backend derives no shared secrets: %w", info.ARN, errUnsupportedKey)
	}
	pub, err := mechanisms.ParsePublicKey(info.PublicKeyDER)
	if err != nil {
		return nil, err
	}
	priv, pubObj, err := newKeyObjects(info, pub, c.s.pin != nil)
	if err != nil {
		return nil, err
	}
	e := &keyEntry{info: info, pub: pub, priv: priv, pubObj: pubObj}
	for _, lc := range c.s.cfg.certs {
		if !lc.names(info) {
			continue
		}
		cert, err := newCertObject(lc, info)
		if err != nil {
			c.s.log.Error("certificate not attached", "cert", certSummary(lc), "err", err)
			continue
		}
		e.cert = cert
		break
	}
	c.register(e, objs)
	return e, nil
}

// register ties every object of e to the token and the entry and gives it a
// handle in the module's object table.
func (c *keyCache) register(e *keyEntry, objs *handleTable[*object]) {
	for _, o := range e.objects() {
		o.slot, o.key = c.s, e
		objs.addNamed(o, func(h uint) { o.handle = h }) // the handle is set before another goroutine can see o
	}
}

// sameKey reports whether a refreshed description leaves the objects unchanged.
func sameKey(a, b *kmsbackend.KeyInfo) bool {
	return a.State == b.State && a.Spec == b.Spec && a.Usage == b.Usage &&
		keyObjectLabel(a) == keyObjectLabel(b) && string(a.PublicKeyDER) == string(b.PublicKeyDER) &&
		a.DeletionDate.Equal(b.DeletionDate)
}

// discover lists the selected keys and describes each (PKCS#11 objects are
// built from the descriptions). Keys that are not Enabled are skipped: KMS
// refuses to use disabled and pending-deletion keys (README, "Key states").
func (c *keyCache) discover(ctx context.Context) ([]*kmsbackend.KeyInfo, error) {
	refs, err := c.selectedRefs(ctx)
	if err != nil {
		return nil, err
	}
	infos := describeAll(ctx, c.s, refs)
	out := make([]*kmsbackend.KeyInfo, 0, len(infos))
	seen := map[string]bool{}
	for _, info := range infos {
		switch {
		case seen[info.ARN]:
			continue
		case info.State != kmsbackend.StateEnabled:
			c.s.log.Info("key skipped", "key", info.ARN, "state", info.State.String())
			continue
		case !tagsMatch(info.Tags, c.s.cfg.Keys.Tags):
			continue
		}
		seen[info.ARN] = true
		out = append(out, info)
	}
	return out, nil
}

// selectedRefs turns the key selection into key references (ids, ARNs, alias names).
func (c *keyCache) selectedRefs(ctx context.Context) ([]string, error) {
	sel, b := c.s.cfg.Keys, c.s.backend
	var refs []string
	if sel.all() {
		cctx, cancel := c.s.callContext(ctx)
		keys, err := b.ListKeys(cctx)
		cancel()
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			refs = append(refs, k.ARN)
		}
		return refs, nil
	}
	refs = append(refs, sel.IDs...)
	refs = append(refs, sel.ARNs...)
	for _, a := range sel.Aliases {
		refs = append(refs, aliasName(a))
	}
	if len(sel.AliasPrefixes) > 0 {
		cctx, cancel := c.s.callContext(ctx)
		aliases, err := b.ListAliases(cctx)
		cancel()
		if err != nil {
			return nil, err
		}
		for _, a := range aliases {
			for _, p := range sel.AliasPrefixes {
				if a.TargetKeyID != "" && strings.HasPrefix(a.Name, aliasName(p)) {
					refs = append(refs, a.TargetKeyID)
					break
				}
			}
		}
	}
	return refs, nil
}

// aliasName adds the "alias/" prefix AWS uses when the configuration left it out.
func aliasName(a string) string {
	if strings.HasPrefix(a, "alias/") || strings.HasPrefix(a, "arn:") {
		return a
	}
	return "alias/" + a
}

// tagsMatch reports whether every wanted tag is present with the same value.
func tagsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

// describeAll describes the keys with a few calls in flight; keys that cannot
// be described are logged and left out rather than failing the whole token.
func describeAll(ctx context.Context, s *slot, refs []string) []*kmsbackend.KeyInfo {
	const parallel = 4
	out := make([]*kmsbackend.KeyInfo, len(refs))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := s.callContext(ctx)
			defer cancel()
			info, err := s.backend.DescribeKey(cctx, ref)
			if err != nil {
				s.log.Warn("key left out: cannot describe it", "key", ref, "err", err)
				return
			}
			out[i] = info
		}()
	}
	wg.Wait()
	res := out[:0]
	for _, info := range out {
		if info != nil {
			res = append(res, info)
		}
	}
	return res
}
