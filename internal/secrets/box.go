package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/atrium-portal/atrium/internal/fault"
)

// Key is one AES-256 key with the id stored next to what it sealed.
type Key struct {
	ID  string
	Key []byte // 32 bytes
}

// Box encrypts the secrets Atrium stores (integration tokens, task secrets)
// with AES-256-GCM. The last key encrypts; every key decrypts, so a new key
// can be added, the stored values re-sealed (Rotate) while the server runs,
// and the old key removed afterwards.
type Box struct {
	current string
	aeads   map[string]cipher.AEAD
}

// sealPrefix starts every sealed value: "v1:<key id>:<base64 nonce+ciphertext>".
const sealPrefix = "v1:"

// NewBox returns a Box for keys (oldest first).
func NewBox(keys []Key) (*Box, error) {
	if len(keys) == 0 {
		return nil, fault.New(fault.Invalid, "secrets: no encryption keys configured (atrium.secrets.keys)")
	}
	b := &Box{aeads: map[string]cipher.AEAD{}}
	for i, k := range keys {
		if k.ID == "" || strings.Contains(k.ID, ":") {
			return nil, fault.New(fault.Invalid, "secrets: key %d needs an id without ':'", i)
		}
		if len(k.Key) != 32 {
			return nil, fault.New(fault.Invalid, "secrets: key %q must be 32 bytes, got %d", k.ID, len(k.Key))
		}
		block, err := aes.NewCipher(k.Key)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "secrets: key %q", k.ID)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fault.Wrap(fault.Invalid, err, "secrets: key %q", k.ID)
		}
		b.aeads[k.ID] = aead
		b.current = k.ID
	}
	return b, nil
}

// CurrentKey is the id of the key that Seal uses.
func (b *Box) CurrentKey() string { return b.current }

// Seal encrypts plaintext under the current key. aad (associated data, such
// as the row's id) is authenticated but not stored: Open must be given the
// same, so a sealed value copied to another row does not open.
func (b *Box) Seal(plaintext, aad []byte) (string, error) {
	aead := b.aeads[b.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fault.Wrap(fault.Internal, err, "secrets: random nonce")
	}
	ct := aead.Seal(nonce, nonce, plaintext, b.aad(b.current, aad))
	return sealPrefix + b.current + ":" + base64.RawStdEncoding.EncodeToString(ct), nil
}

// ErrNotSealed reports a value that Seal did not produce.
var ErrNotSealed = errors.New("secrets: not a sealed value")

// Open decrypts a value from Seal with whichever configured key sealed it.
func (b *Box) Open(sealed string, aad []byte) ([]byte, error) {
	id, ct, err := b.split(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := b.aeads[id]
	if !ok {
		return nil, fault.New(fault.Internal, "secrets: sealed with key %q, which is not configured (atrium.secrets.keys)", id)
	}
	if len(ct) < aead.NonceSize() {
		return nil, fault.Wrap(fault.Internal, ErrNotSealed, "secrets: sealed value is truncated")
	}
	pt, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], b.aad(id, aad))
	if err != nil {
		return nil, fault.Wrap(fault.Internal, err, "secrets: sealed value does not open under key %q (altered, or another row's)", id)
	}
	return pt, nil
}

// NeedsRotation reports whether sealed was made with an older key.
func (b *Box) NeedsRotation(sealed string) bool {
	id, _, err := b.split(sealed)
	return err == nil && id != b.current
}

// Reseal opens sealed and seals it again under the current key.
func (b *Box) Reseal(sealed string, aad []byte) (string, error) {
	pt, err := b.Open(sealed, aad)
	if err != nil {
		return "", err
	}
	return b.Seal(pt, aad)
}

func (b *Box) split(sealed string) (string, []byte, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", nil, ErrNotSealed
	}
	id, enc, ok := strings.Cut(rest, ":")
	if !ok {
		return "", nil, ErrNotSealed
	}
	ct, err := base64.RawStdEncoding.DecodeString(enc)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrNotSealed, err)
	}
	return id, ct, nil
}

// aad binds the key id too, so a value cannot be relabelled with another id.
func (b *Box) aad(id string, aad []byte) []byte {
	return append([]byte("atrium-secret\x00"+id+"\x00"), aad...)
}
