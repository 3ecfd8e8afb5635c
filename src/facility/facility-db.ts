/** Opening the facility's EMR database from the node's config. */
import { resolve } from 'node:path';
import { Emr } from '../capture/emr.js';
import { ErrorCodes, usageError } from '../core/errors.js';
import { writeConfig } from '../store/home.js';
import type { NodeSession } from '../node/node-session.js';

/** The EMR database this facility tracks; `dbOption` sets it the first time. */
export function facilityEmr(s: NodeSession, dbOption?: string): Emr {
  const wanted = dbOption ? resolve(dbOption) : undefined;
  if (wanted && s.config.db && s.config.db !== wanted) {
    throw usageError(ErrorCodes.USAGE, `${s.id} already tracks ${s.config.db}; a facility node tracks one database`, {
      hint: 'leave out --db, or make another facility node for the other database',
    });
  }
  const path = s.config.db ?? wanted;
  if (!path) {
    throw usageError(ErrorCodes.DB_MISSING, `${s.id} has no EMR database yet`, { hint: 'run `ferry track --db PATH --table NAME` first' });
  }
  const db = Emr.open(path);
  if (!s.config.db) {
    s.config.db = path;
    writeConfig(s.ctx.home, s.config);
  }
  return db;
}
