/** Where `server setup` puts things on the target system (the defaults of `server` commands). */
export const SERVER_USER = 'sealsync';
export const SERVER_HOME = '/var/lib/sealsync';
export const SERVER_STORE = '/srv/sealsync';
