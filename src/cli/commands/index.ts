import init from './init.js';
import identity from './identity.js';
import trust from './trust.js';
import revoke from './revoke.js';
import inspect from './inspect.js';
import track from './track.js';
import untrack from './untrack.js';
import exportCommand from './export.js';
import importCommand from './import.js';
import status from './status.js';
import conflicts from './conflicts.js';
import log from './log.js';
import demo from './demo.js';
import watch from './watch.js';
import tui from './tui.js';
import passphrase from './passphrase.js';
import rotateKeys from './rotate-keys.js';
import migrate from './migrate.js';
import rescope from './rescope.js';
import send from './send.js';
import sends from './sends.js';
import request from './request.js';
import requests from './requests.js';

/** Every CLI command, in the order `ferry --help` lists them. */
export const commands = [tui, init, identity, passphrase, rotateKeys, trust, revoke, track, untrack, exportCommand, importCommand, send, sends, request, requests, watch, status, conflicts, migrate, rescope, log, inspect, demo];
