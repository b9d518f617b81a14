#pragma once

// Certificates made at test time, so no private key is ever committed:
// a CA, a server certificate it signs (for localhost, 127.0.0.1 and ::1),
// another it signs for the name otherhost only, and a second, unrelated CA
// for the wrong-CA tests.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace test {

struct tls_files {
    std::string dir;
    std::string ca;          // trusted CA certificate
    std::string other_ca;    // a CA that signed nothing here
    std::string cert_chain;  // server certificate followed by the CA
    std::string key;         // server private key
    std::string otherhost_chain; // a certificate from the trusted CA for otherhost only, and the CA
    std::string otherhost_key;
};

namespace detail {

inline EVP_PKEY* new_key() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    if (!key) throw std::runtime_error("EC key generation failed");
    return key;
}

inline void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error("bad certificate extension");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

inline X509* make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool is_ca, long serial,
                       const char* names = "DNS:localhost,IP:127.0.0.1,IP:::1") {
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
    X509* signer = issuer ? issuer : cert;
    if (is_ca) {
        add_ext(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(cert, signer, NID_ext_key_usage, "serverAuth");
        add_ext(cert, signer, NID_subject_alt_name, names);
    }
    add_ext(cert, signer, NID_subject_key_identifier, "hash");
    if (!X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256())) throw std::runtime_error("signing failed");
    return cert;
}

inline void write_cert(const std::string& path, X509* cert, const char* mode = "w") {
    FILE* f = std::fopen(path.c_str(), mode);
    if (!f) throw std::runtime_error("cannot write " + path);
    PEM_write_X509(f, cert);
    std::fclose(f);
}

} // namespace detail

// Made once per test process, in a fresh temporary directory.
inline const tls_files& test_certificates() {
    static const tls_files files = [] {
        char tmpl[] = "/tmp/chatroom-tls-XXXXXX";
        if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
        tls_files f;
        f.dir = tmpl;
        f.ca = f.dir + "/ca.pem";
        f.other_ca = f.dir + "/other-ca.pem";
        f.cert_chain = f.dir + "/server.pem";
        f.key = f.dir + "/server.key";
        f.otherhost_chain = f.dir + "/otherhost.pem";
        f.otherhost_key = f.dir + "/otherhost.key";

        EVP_PKEY* ca_key = detail::new_key();
        X509* ca = detail::make_cert(ca_key, "chatroom test CA", nullptr, nullptr, true, 1);
        EVP_PKEY* other_key = detail::new_key();
        X509* other = detail::make_cert(other_key, "unrelated CA", nullptr, nullptr, true, 2);
        EVP_PKEY* server_key = detail::new_key();
        X509* server = detail::make_cert(server_key, "localhost", ca, ca_key, false, 3);
        EVP_PKEY* otherhost_key = detail::new_key();
        X509* otherhost = detail::make_cert(otherhost_key, "otherhost", ca, ca_key, false, 4, "DNS:otherhost");

        detail::write_cert(f.ca, ca);
        detail::write_cert(f.other_ca, other);
        detail::write_cert(f.cert_chain, server);
        detail::write_cert(f.cert_chain, ca, "a");
        detail::write_cert(f.otherhost_chain, otherhost);
        detail::write_cert(f.otherhost_chain, ca, "a");
        for (auto [path, key] : {std::pair{&f.key, server_key}, std::pair{&f.otherhost_key, otherhost_key}}) {
            FILE* k = std::fopen(path->c_str(), "w");
            PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
            std::fclose(k);
        }

        X509_free(ca);
        X509_free(other);
        X509_free(server);
        X509_free(otherhost);
        EVP_PKEY_free(otherhost_key);
        EVP_PKEY_free(ca_key);
        EVP_PKEY_free(other_key);
        EVP_PKEY_free(server_key);
        return f;
    }();
    return files;
}

} // namespace test
