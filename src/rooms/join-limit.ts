/**
 * How many guests may join from one address (GUEST_JOINS_PER_MINUTE): the shared address limit,
 * per minute. A talk's joins all reach the node hosting it, so that node's buckets see them all.
 */
export { AddressLimit as JoinLimit, limitKey } from '../platform/address-limit.js';
