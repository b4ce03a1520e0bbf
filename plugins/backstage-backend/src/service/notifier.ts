/**
 * Notifies people through Backstage's notifications backend, when it is installed and
 * `kubeRestore.notifications.enabled` is set. The HTTP call is the one @backstage/plugin-notifications-node's
 * DefaultNotificationService makes (POST to the plugin's base URL with a service token), so no dependency on
 * that package is needed. Best effort: a failed notification never fails a restore.
 */
import {
  AuthService,
  DiscoveryService,
  LoggerService,
} from '@backstage/backend-plugin-api';

export interface RestoreNotification {
  /** User or group entity refs. */
  recipients: string[];
  title: string;
  description: string;
  /** Path in the Backstage app, e.g. the entity's restore tab. */
  link?: string;
  severity?: 'critical' | 'high' | 'normal' | 'low';
}

export interface RestoreNotifier {
  notify(notification: RestoreNotification): Promise<void>;
}

export const noNotifications: RestoreNotifier = { notify: async () => {} };

export function backstageNotifier(options: {
  auth: AuthService;
  discovery: DiscoveryService;
  logger: LoggerService;
}): RestoreNotifier {
  return {
    async notify(n) {
      try {
        const baseUrl = await options.discovery.getBaseUrl('notifications');
        const { token } = await options.auth.getPluginRequestToken({
          onBehalfOf: await options.auth.getOwnServiceCredentials(),
          targetPluginId: 'notifications',
        });
        const response = await fetch(baseUrl, {
          method: 'POST',
          headers: {
            'Content-Type': 'application/json',
            Accept: 'application/json',
            Authorization: `Bearer ${token}`,
          },
          body: JSON.stringify({
            recipients: { type: 'entity', entityRef: n.recipients },
            payload: {
              title: n.title,
              description: n.description,
              ...(n.link ? { link: n.link } : {}),
              severity: n.severity ?? 'normal',
              topic: 'kube-restore',
            },
          }),
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
      } catch (error) {
        options.logger.warn(
          `could not send the notification "${n.title}": ${(error as Error).message}`,
        );
      }
    },
  };
}
