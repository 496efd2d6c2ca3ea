// A real OpenID Connect provider for the Chorus test suite: npm `oidc-provider` (OpenID Certified) with its
// development sign-in pages, listening on loopback. Configured from the environment by tests/servers/oidc_provider.py:
//   OIDC_PORT      port on 127.0.0.1
//   OIDC_CLIENTS   JSON list of {client_id, client_secret, redirect_uris}
//   OIDC_ACCOUNTS  JSON object: login -> claims ({email, email_verified, preferred_username, name}); a login
//                  that is not listed signs in with no claims beyond `sub`
// The development pages accept any password; "[ Cancel ]" on them answers the client with access_denied.
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]').map((client) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_post',
  ...client,
}));

const provider = new Provider(issuer, {
  clients,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  async findAccount(ctx, sub) {
    const claims = accounts[sub] || {};
    return { accountId: sub, async claims() { return { sub, ...claims }; } };
  },
  cookies: { keys: ['chorus-test-only-cookie-key'] },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
});
provider.proxy = false;

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening at ${issuer}`);
});
