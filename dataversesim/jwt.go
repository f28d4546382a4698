package dataversesim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

var b64 = base64.RawURLEncoding

// signJWT makes an RS256 token signed with the process signing key, shaped
// like an Entra v1 access token (Dataverse accepts those).
func signJWT(claims map[string]any) (string, error) {
	key, _, err := processKeys()
	if err != nil {
		return "", err
	}
	hdr := map[string]any{"typ": "JWT", "alg": "RS256", "kid": signingKID()}
	hb, _ := json.Marshal(hdr)
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	unsigned := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sum := sha256.Sum256([]byte(unsigned))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return unsigned + "." + b64.EncodeToString(sig), nil
}

func signingKID() string {
	key, _, _ := processKeys()
	sum := sha1.Sum(key.PublicKey.N.Bytes())
	return b64.EncodeToString(sum[:])
}

type parsedJWT struct {
	header map[string]any
	claims map[string]any
	signed []byte
	sig    []byte
}

func parseJWT(tok string) (*parsedJWT, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT")
	}
	p := &parsedJWT{signed: []byte(parts[0] + "." + parts[1])}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	cb, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if p.sig, err = b64.DecodeString(parts[2]); err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	if err := json.Unmarshal(hb, &p.header); err != nil {
		return nil, err
	}
	d := json.NewDecoder(strings.NewReader(string(cb)))
	d.UseNumber()
	if err := d.Decode(&p.claims); err != nil {
		return nil, err
	}
	return p, nil
}

// verify checks the signature with pub; RS256 and PS256 (MSAL signs client
// assertions with PS256 and x5t#S256) are accepted.
func (p *parsedJWT) verify(pub *rsa.PublicKey) error {
	sum := sha256.Sum256(p.signed)
	switch p.header["alg"] {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], p.sig)
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], p.sig, nil)
	}
	return fmt.Errorf("unsupported alg %v", p.header["alg"])
}

func (p *parsedJWT) str(k string) string {
	v, _ := p.claims[k].(string)
	return v
}

func (p *parsedJWT) num(k string) int64 {
	switch v := p.claims[k].(type) {
	case json.Number:
		n, _ := v.Int64()
		return n
	case float64:
		return int64(v)
	}
	return 0
}

func sha1Sum(b []byte) []byte {
	h := sha1.Sum(b)
	return h[:]
}
