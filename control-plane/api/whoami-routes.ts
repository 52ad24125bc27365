/** Who the API takes the caller to be: the first thing to check when something is refused. */
import type { ApiInstance } from './api-request';
import type { WhoamiView } from './api-views';

export function whoamiRoutes(app: ApiInstance): void {
  app.get('/whoami', async (req) => {
    const view: WhoamiView = { user: req.caller.user, groups: req.caller.groups, admin: req.caller.admin, serial: req.caller.serial };
    return view;
  });
}
