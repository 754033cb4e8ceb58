// The servers the bench measures side by side, in their canonical order, and how each is made.
import { floorServer } from './floor.mjs';
import { imsServer } from './ims.mjs';
import { postfixServer } from './postfix.mjs';

export const TARGET_NAMES = { postfix: 'Postfix', floor: 'smtp-server floor', ims: 'ims-relay' };
export const SERVER_FACTORIES = { postfix: postfixServer, floor: floorServer, ims: imsServer };
