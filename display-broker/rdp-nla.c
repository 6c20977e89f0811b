/* rdp-nla.c: NLA (CredSSP with NTLM) against the users of --rdp-users, in memory: WinPR asks
 * for the NTLMv2 hash of the user the client names, we compute it from that user's password
 * or NT hash, or refuse an unknown name; a failed logon is logged with the user and the peer.
 * Not the users file's parser (rdp-users.c). */
#include <stdlib.h>
#include <string.h>

#include <winpr/ntlm.h>
#include <winpr/sspi.h>
#include <winpr/string.h>

#include "rdp-internal.h"

#define TAG RDP_TAG

static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

/* The NT hash (MD4 of the UTF-16LE password) of a user. */
static bool nt_hash_of(const struct broker_user *u, BYTE out[16])
{
	if (u->has_hash) {
		memcpy(out, u->nt_hash, 16);
		return true;
	}
	WCHAR *pw = NULL;
	int n = ConvertToUnicode(CP_UTF8, 0, u->password, -1, &pw, 0);
	bool ok = n > 1 && NTOWFv1W(pw, (UINT32)(n - 1) * 2, out);
	if (pw) {
		wipe(pw, (size_t)n * sizeof(WCHAR));
		free(pw);
	}
	return ok;
}

/* WinPR's NTLM server calls this with the AUTHENTICATE message's user and domain; it wants
 * the NTLMv2 hash (NTOWFv2) in ntlmhash. Nonzero is success here (WinPR tests it as a
 * boolean). */
static SECURITY_STATUS compute_hash(void *client, const SEC_WINNT_AUTH_IDENTITY *id,
				    const SecBuffer *proof, const BYTE *randkey, const BYTE *mic,
				    const SecBuffer *micvalue, BYTE *ntlmhash)
{
	(void)proof;
	(void)randkey;
	(void)mic;
	(void)micvalue;
	freerdp_peer *peer = client;
	struct rdp_nla *nla = peer ? peer->ContextExtra : NULL;
	/* WinPR's NTLM keeps the identity in UTF-16 whatever Flags says. */
	if (!nla || !id || !id->User)
		return 0;
	nla->user[0] = 0;
	nla->known = false;
	char *name = NULL;
	if (id->UserLength == 0 || id->UserLength > BROKER_USER_MAX ||
	    ConvertFromUnicode(CP_UTF8, 0, (LPCWSTR)id->User, (int)id->UserLength, &name, 0, NULL,
			       NULL) <= 0 ||
	    !name) {
		snprintf(nla->user, sizeof(nla->user), "?");
		free(name);
		return 0;
	}
	/* Log it safely: printable ASCII only. */
	size_t k = 0;
	for (const char *c = name; *c && k < BROKER_USER_MAX; c++)
		nla->user[k++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
	nla->user[k] = 0;
	const struct broker_user *u = broker_users_find(nla->users, name);
	free(name);
	if (!u) {
		hd_warn(TAG, "session %u: NLA logon refused: unknown user '%s' from %s", nla->session,
			nla->user, nla->peer_addr);
		return 0;
	}
	nla->known = true;
	BYTE v1[16];
	if (!nt_hash_of(u, v1))
		return 0;
	BOOL ok = NTOWFv2FromHashW(v1, (LPWSTR)id->User, id->UserLength * 2, (LPWSTR)id->Domain,
				   id->Domain ? id->DomainLength * 2 : 0, ntlmhash);
	wipe(v1, sizeof(v1));
	return ok ? 1 : 0;
}

void rdp_nla_setup(freerdp_peer *peer, struct rdp_nla *nla)
{
	peer->ContextExtra = nla;
	peer->ComputeNtlmHash = compute_hash;
}

void rdp_nla_log_failure(const struct rdp_nla *nla)
{
	if (!nla->users)
		return;
	if (!nla->user[0])
		hd_warn(TAG, "session %u: NLA logon from %s failed before a user name was given",
			nla->session, nla->peer_addr);
	else if (nla->known)
		hd_warn(TAG, "session %u: NLA logon refused: wrong password for user '%s' from %s",
			nla->session, nla->user, nla->peer_addr);
	/* an unknown user was logged when it was looked up */
}
