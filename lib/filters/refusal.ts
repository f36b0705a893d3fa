/**
 * Why a filter refused a request: a fixed set, so that the metric labelled with it stays
 * bounded whatever clients send.
 */
export type RefusalReason = 'ip' | 'method' | 'body-size' | 'header' | 'basic-auth'
