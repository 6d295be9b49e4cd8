// A real OpenID Connect provider for the end-to-end suite and the demo (`make run`), npm
// `oidc-provider`, standing in for the state identity provider. Its development login screen accepts any user name; the user
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

// "Create a state account": this stand-in needs none (any user name signs in), and says so.
provider.use(async (ctx, next) => {
  if (ctx.path !== '/register') return next();
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Create an account</title></head>
<body><main><h1>Create an account</h1><p>This is the demo's stand-in for the state identity provider. It needs no account:
on its sign-in screen, any user name works (an e-mail address becomes your verified e-mail). Go back to your invitation and use the second link.</p></main></body></html>`;
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`OIDC provider listening at ${issuer}`);
});
