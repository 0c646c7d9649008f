export { OrderedUpdateChannel, SEQ_HEADER, type FinalOutcome, type QueuedUpdate, type SendUpdate, type UpdateChannelOptions, type UpdateKind } from './ordered-update-channel.js';
