package devkms

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/handler"
)

// The administrative operations on own keys (ownkeys.go): aliases, tags,
// deletion, and own keys merged into local-kms's listings.

func (s *ownStore) createAlias(body []byte) (handler.Response, bool) {
	in, ok := parse(body)
	if !ok {
		return handler.Response{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.resolve(in.TargetKeyId)
	if k == nil {
		return handler.Response{}, false
	}
	if !strings.HasPrefix(in.AliasName, "alias/") || strings.HasPrefix(in.AliasName, "alias/aws/") {
		return handler.NewValidationExceptionResponse("Alias must start with the prefix \"alias/\" and must not begin with \"alias/aws/\""), true
	}
	if _, taken := s.aliases[in.AliasName]; taken {
		return handler.New400ExceptionResponse("AlreadyExistsException", fmt.Sprintf("An alias with the name %s already exists", config.ArnPrefix()+in.AliasName)), true
	}
	s.aliases[in.AliasName] = k.meta["KeyId"].(string)
	return handler.NewResponse(http.StatusOK, nil), true
}

// aliasEntries lists the aliases of one key id ("" for all), sorted.
func (s *ownStore) aliasEntries(id string) []map[string]any {
	var out []map[string]any
	for name, kid := range s.aliases {
		if id == "" || kid == id {
			out = append(out, map[string]any{"AliasName": name, "AliasArn": config.ArnPrefix() + name, "TargetKeyId": kid})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["AliasName"].(string) < out[j]["AliasName"].(string) })
	return out
}

func (s *ownStore) listAliasesOfKey(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(_ ownRequest, k *ownKey) handler.Response {
		return handler.NewResponse(http.StatusOK, map[string]any{"Aliases": s.aliasEntries(k.meta["KeyId"].(string)), "Truncated": false})
	})
}

func (s *ownStore) listTags(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(_ ownRequest, k *ownKey) handler.Response {
		tags := k.tags
		if tags == nil {
			tags = []map[string]string{}
		}
		return handler.NewResponse(http.StatusOK, map[string]any{"Tags": tags, "Truncated": false})
	})
}

func (s *ownStore) scheduleDeletion(body []byte) (handler.Response, bool) {
	return s.withKey(body, func(_ ownRequest, k *ownKey) handler.Response {
		if r, bad := k.unusable(); bad {
			return r
		}
		when := float64(time.Now().Add(30 * 24 * time.Hour).Unix())
		k.meta["KeyState"], k.meta["Enabled"], k.meta["DeletionDate"] = "PendingDeletion", false, when
		return handler.NewResponse(http.StatusOK, map[string]any{"KeyId": k.meta["Arn"], "KeyState": "PendingDeletion", "DeletionDate": when})
	})
}

// mergeKeys appends the own keys to local-kms's last ListKeys page.
func (s *ownStore) mergeKeys(resp handler.Response) handler.Response {
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body["Truncated"] == true {
		return resp
	}
	s.mu.Lock()
	ids := make([]string, 0, len(s.keys))
	for id := range s.keys {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Strings(ids)
	keys, _ := body["Keys"].([]any)
	for _, id := range ids {
		keys = append(keys, map[string]any{"KeyId": id, "KeyArn": config.ArnPrefix() + "key/" + id})
	}
	body["Keys"] = keys
	return handler.NewResponse(resp.Code, body)
}

// mergeAliases appends the own keys' aliases to local-kms's last
// ListAliases page of an unfiltered listing.
func (s *ownStore) mergeAliases(req []byte, resp handler.Response) handler.Response {
	in, _ := parse(req)
	var body map[string]any
	if in.KeyId != "" || json.Unmarshal([]byte(resp.Body), &body) != nil || body["Truncated"] == true {
		return resp
	}
	s.mu.Lock()
	extra := s.aliasEntries("")
	s.mu.Unlock()
	aliases, _ := body["Aliases"].([]any)
	for _, a := range extra {
		aliases = append(aliases, a)
	}
	body["Aliases"] = aliases
	return handler.NewResponse(resp.Code, body)
}
