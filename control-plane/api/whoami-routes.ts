/** Who the API takes the caller to be: the first thing to check when something is refused. */
import type { Route } from './api-route';
import type { WhoamiView } from './api-views';

export const whoamiRoutes: readonly Route[] = [
  {
    method: 'GET',
    path: '/whoami',
    handler: async (req) => {
      const view: WhoamiView = { user: req.caller.user, groups: req.caller.groups, admin: req.caller.admin, serial: req.caller.serial };
      return { body: view };
    },
  },
];
