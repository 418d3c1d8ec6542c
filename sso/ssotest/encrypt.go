package ssotest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/sso"
)

// XML Encryption algorithms for encrypted assertions.
const (
	// EncryptAES256GCM is xmlenc11 AES-256-GCM (the default).
	EncryptAES256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	// EncryptAES128CBC is xmlenc AES-128-CBC, for SPs without GCM.
	EncryptAES128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"

	nsXMLEnc     = "http://www.w3.org/2001/04/xmlenc#"
	keyTransport = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	digestSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
)

// encryptAssertion replaces the signed assertion a with an
// EncryptedAssertion for sp: the assertion is encrypted with a fresh AES key
// (GCM or CBC), the key with RSA-OAEP (MGF1-SHA1) to the SP's certificate.
func (idp *IdP) encryptAssertion(a *etree.Element, sp ServiceProvider) (*etree.Element, error) {
	pub, ok := sp.EncryptionCert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("ssotest: SP %q encryption certificate has no RSA key: %w", sp.EntityID, sso.ErrInvalidConfig)
	}
	doc := etree.NewDocument()
	doc.SetRoot(a.Copy())
	plain, err := doc.WriteToBytes()
	if err != nil {
		return nil, fmt.Errorf("ssotest: serialize assertion: %w", err)
	}
	method := sp.EncryptionMethod
	if method == "" {
		method = EncryptAES256GCM
	}
	keyLen := 32
	if method == EncryptAES128CBC {
		keyLen = 16
	}
	key := make([]byte, keyLen)
	if _, err := io.ReadFull(idp.rand, key); err != nil {
		return nil, fmt.Errorf("ssotest: random: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("ssotest: cipher: %w", err)
	}
	var data []byte
	switch method {
	case EncryptAES256GCM:
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("ssotest: cipher: %w", err)
		}
		nonce := make([]byte, gcm.NonceSize())
		if _, err := io.ReadFull(idp.rand, nonce); err != nil {
			return nil, fmt.Errorf("ssotest: random: %w", err)
		}
		data = gcm.Seal(nonce, nonce, plain, nil)
	case EncryptAES128CBC:
		pad := aes.BlockSize - len(plain)%aes.BlockSize
		for range pad {
			plain = append(plain, byte(pad))
		}
		data = make([]byte, aes.BlockSize+len(plain))
		if _, err := io.ReadFull(idp.rand, data[:aes.BlockSize]); err != nil {
			return nil, fmt.Errorf("ssotest: random: %w", err)
		}
		cipher.NewCBCEncrypter(block, data[:aes.BlockSize]).CryptBlocks(data[aes.BlockSize:], plain)
	default:
		return nil, fmt.Errorf("ssotest: unsupported encryption method %q: %w", method, sso.ErrInvalidConfig)
	}
	wrapped, err := rsa.EncryptOAEP(sha1.New(), idp.rand, pub, key, nil)
	if err != nil {
		return nil, fmt.Errorf("ssotest: wrap key: %w", err)
	}

	ea := etree.NewElement("saml:EncryptedAssertion")
	ea.CreateAttr("xmlns:saml", nsAssertion)
	ed := ea.CreateElement("xenc:EncryptedData")
	ed.CreateAttr("xmlns:xenc", nsXMLEnc)
	ed.CreateAttr("Type", nsXMLEnc+"Element")
	ed.CreateElement("xenc:EncryptionMethod").CreateAttr("Algorithm", method)
	ki := ed.CreateElement("ds:KeyInfo")
	ki.CreateAttr("xmlns:ds", dsig.Namespace)
	ek := ki.CreateElement("xenc:EncryptedKey")
	em := ek.CreateElement("xenc:EncryptionMethod")
	em.CreateAttr("Algorithm", keyTransport)
	em.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", digestSHA1)
	ek.CreateElement("ds:KeyInfo").CreateElement("ds:X509Data").CreateElement("ds:X509Certificate").
		SetText(base64.StdEncoding.EncodeToString(sp.EncryptionCert.Raw))
	ek.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(wrapped))
	ed.CreateElement("xenc:CipherData").CreateElement("xenc:CipherValue").SetText(base64.StdEncoding.EncodeToString(data))
	return ea, nil
}
