/**
 * Changing config.json while no daemon runs (`config set`, `passwd`): under
 * the home lock, so a daemon cannot start in between and overwrite it; the
 * file is written atomically with mode 0600 by saveConfig.
 */
import { acquireLock, loadConfig, saveConfig, type Config, type HomePaths } from '../../api/offline.js';

export async function updateConfigOffline(paths: HomePaths, change: (config: Config) => Config | Promise<Config>): Promise<Config> {
  const lock = await acquireLock(paths.lock);
  try {
    const next = await change(await loadConfig(paths.config));
    await saveConfig(paths.config, next);
    return next;
  } finally {
    await lock.release();
  }
}
