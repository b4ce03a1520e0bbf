/*
 * LOCAL DEVELOPMENT ONLY. A sign-in page that lets whoever opens the portal be one of the users the backend's
 * `dev` auth provider lists in `auth.providers.dev.users` (examples/portal/app-config.yaml), without a
 * password. It exists so the example can show an owner and a non-owner of the same entity. A real portal
 * signs users in through its identity provider (GitHub, OIDC, ...) and has no such page.
 */
import { useState } from 'react';
import {
  Content,
  Header,
  Page,
  ProxiedSignInPage,
} from '@backstage/core-components';
import { IdentityApi } from '@backstage/core-plugin-api';
import { SignInPageProps } from '@backstage/plugin-app-react';
import Button from '@material-ui/core/Button';
import Card from '@material-ui/core/Card';
import CardActions from '@material-ui/core/CardActions';
import CardContent from '@material-ui/core/CardContent';
import Grid from '@material-ui/core/Grid';
import Typography from '@material-ui/core/Typography';

/** The header the backend's dev provider reads; it accepts only the users its config lists. */
const USER_HEADER = 'x-portal-dev-user';
const STORAGE_KEY = 'kube-restore-portal:dev-user';

const USERS = [
  {
    name: 'guest',
    title: 'guest',
    description:
      'Owns component "shop" (namespace team-a): may restore into it.',
  },
  {
    name: 'outsider',
    title: 'outsider',
    description: 'Owns nothing: sees the shop, but restores are refused.',
  },
];

function rememberedUser(): string | undefined {
  try {
    return window.localStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

function forget() {
  try {
    window.localStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage unavailable: nothing remembered
  }
}

/** Signing out also forgets which user was picked, so the next visit shows the choice again. */
function forgettingOnSignOut(identity: IdentityApi): IdentityApi {
  return {
    getProfileInfo: () => identity.getProfileInfo(),
    getBackstageIdentity: () => identity.getBackstageIdentity(),
    getCredentials: () => identity.getCredentials(),
    signOut: async () => {
      forget();
      await identity.signOut();
    },
  };
}

function SignInFailed(props: { error?: Error; onRetry: () => void }) {
  return (
    <Page themeId="home">
      <Header title="Sign-in failed" />
      <Content>
        <Typography role="alert">
          {props.error?.message ?? 'The sign-in failed.'}
        </Typography>
        <Button variant="outlined" onClick={props.onRetry}>
          Choose another user
        </Button>
      </Content>
    </Page>
  );
}

export function DevSignInPage(props: SignInPageProps) {
  const [user, setUser] = useState<string | undefined>(rememberedUser);

  if (user) {
    return (
      <ProxiedSignInPage
        provider="dev"
        headers={{ [USER_HEADER]: user }}
        onSignInSuccess={identity =>
          props.onSignInSuccess(forgettingOnSignOut(identity))
        }
        ErrorComponent={({ error }) => (
          <SignInFailed
            error={error}
            onRetry={() => {
              forget();
              setUser(undefined);
            }}
          />
        )}
      />
    );
  }

  return (
    <Page themeId="home">
      <Header
        title="kube-restore example portal"
        subtitle="Local development sign-in: no password, never use this outside a local demo"
      />
      <Content>
        <Grid container spacing={3}>
          {USERS.map(u => (
            <Grid item xs={12} md={4} key={u.name}>
              <Card>
                <CardContent>
                  <Typography variant="h6">{u.title}</Typography>
                  <Typography variant="body2">{u.description}</Typography>
                </CardContent>
                <CardActions>
                  <Button
                    color="primary"
                    variant="contained"
                    onClick={() => {
                      try {
                        window.localStorage.setItem(STORAGE_KEY, u.name);
                      } catch {
                        // storage unavailable: signed in for this page load only
                      }
                      setUser(u.name);
                    }}
                  >
                    Sign in as {u.name}
                  </Button>
                </CardActions>
              </Card>
            </Grid>
          ))}
        </Grid>
      </Content>
    </Page>
  );
}
