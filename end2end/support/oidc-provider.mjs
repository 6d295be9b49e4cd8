// A real OpenID Connect provider for the end-to-end suite (npm `oidc-provider`), standing in for
// the state identity provider. Its development login screen accepts any user name; the user
// name becomes the subject (and, when it is an e-mail address, the verified e-mail). Authorization code flow with PKCE required, as the state's is.
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT ?? 3101);
const issuer = `http://127.0.0.1:${port}`;
const redirect = process.env.OIDC_REDIRECT ?? 'http://127.0.0.1:3100/auth/oidc/callback';

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'wraparound',
      client_secret: 'e2e-client-secret',
      redirect_uris: [redirect],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  pkce: { required: () => true },
  claims: { email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        // A login that is an e-mail address is that person's (verified) address.
        const email = sub.includes('@') ? sub : `${sub}@kog.example`;
        return { sub, email, email_verified: true, name: `KOG ${sub.split('@')[0]}` };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['wraparound-e2e-only'] },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`OIDC provider listening at ${issuer}`);
});
