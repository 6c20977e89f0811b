/* rdp-cert.c: the RDP server's TLS identity: the PEM files given with --tls-cert/--tls-key, or
 * a self-signed RSA-2048 certificate generated once and kept in the broker's state folder.
 * Not TLS itself (FreeRDP does that with the PEM text we hand it). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "broker-internal.h"

#define TAG "rdp"
#define CERT_FILE "rdp-tls-cert.pem"
#define KEY_FILE "rdp-tls-key.pem"
#define MAX_PEM (64 * 1024)
#define CERT_DAYS 3650

static char *read_pem(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = malloc(MAX_PEM + 1);
	ssize_t n = buf ? read(fd, buf, MAX_PEM) : -1;
	close(fd);
	if (n <= 0 || n == MAX_PEM) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

static char *bio_text(BIO *bio)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	if (n <= 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (s) {
		memcpy(s, data, (size_t)n);
		s[n] = 0;
	}
	return s;
}

/* A new self-signed certificate for CN=hyperdesk, as PEM text. */
static int generate(char **cert_out, char **key_out)
{
	int r = -ENOMEM;
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *x = X509_new();
	BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
	if (!key || !x || !cb || !kb)
		goto out;
	X509_set_version(x, 2);
	unsigned char serial[8];
	FILE *ur = fopen("/dev/urandom", "re");
	if (!ur || fread(serial, 1, sizeof(serial), ur) != sizeof(serial))
		memset(serial, 0x5a, sizeof(serial));
	if (ur)
		fclose(ur);
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (bn) {
		BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
		BN_free(bn);
	}
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), (long)CERT_DAYS * 24 * 3600);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"hyperdesk",
				   -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (!X509_sign(x, key, EVP_sha256()) || !PEM_write_bio_X509(cb, x) ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL)) {
		r = -EINVAL;
		goto out;
	}
	*cert_out = bio_text(cb);
	*key_out = bio_text(kb);
	r = *cert_out && *key_out ? 0 : -ENOMEM;
out:
	BIO_free(cb);
	BIO_free(kb);
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

static int write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	bool ok = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		int e = errno ? -errno : -EIO;
		unlink(tmp);
		return e;
	}
	return 0;
}

/* mkdir -p for the state folder (0700: it holds a private key). */
static int make_dirs(const char *dir)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s", dir);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int rdp_tls_load(struct broker *b)
{
	const struct broker_config *cfg = b->cfg;
	int r = 0;
	pthread_mutex_lock(&b->tls_lock);
	if (b->tls_cert_pem)
		goto out;
	if (cfg->tls_cert) {
		b->tls_cert_pem = read_pem(cfg->tls_cert);
		b->tls_key_pem = read_pem(cfg->tls_key);
		if (!b->tls_cert_pem || !b->tls_key_pem) {
			hd_warn(TAG, "cannot read --tls-cert %s or --tls-key %s", cfg->tls_cert,
				cfg->tls_key);
			r = -ENOENT;
		}
		goto out;
	}
	if (cfg->state_dir) {
		char cp[4096], kp[4096];
		snprintf(cp, sizeof(cp), "%s/%s", cfg->state_dir, CERT_FILE);
		snprintf(kp, sizeof(kp), "%s/%s", cfg->state_dir, KEY_FILE);
		b->tls_cert_pem = read_pem(cp);
		b->tls_key_pem = read_pem(kp);
		if (b->tls_cert_pem && b->tls_key_pem)
			goto out;
	}
	free(b->tls_cert_pem);
	free(b->tls_key_pem);
	b->tls_cert_pem = b->tls_key_pem = NULL;
	uint64_t t0 = hd_now_ns();
	r = generate(&b->tls_cert_pem, &b->tls_key_pem);
	if (r < 0) {
		hd_warn(TAG, "cannot generate a TLS certificate: %s", strerror(-r));
		goto out;
	}
	hd_info(TAG, "generated a self-signed TLS certificate in %llu ms",
		(unsigned long long)((hd_now_ns() - t0) / 1000000));
	if (cfg->state_dir) {
		int w = make_dirs(cfg->state_dir);
		if (!w)
			w = write_file(cfg->state_dir, KEY_FILE, b->tls_key_pem, 0600);
		if (!w)
			w = write_file(cfg->state_dir, CERT_FILE, b->tls_cert_pem, 0644);
		if (w)
			hd_warn(TAG, "cannot keep the TLS certificate in %s (%s): a new one is "
				     "made the next time the broker starts",
				cfg->state_dir, strerror(-w));
	}
out:
	if (r < 0) {
		free(b->tls_cert_pem);
		free(b->tls_key_pem);
		b->tls_cert_pem = b->tls_key_pem = NULL;
	}
	pthread_mutex_unlock(&b->tls_lock);
	return r;
}
