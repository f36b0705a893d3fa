/** The methods a gateway route may take, once for the schema, the router, the clash check and `OPTIONS *`. */
export const HTTP_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] as const

export type HttpMethod = typeof HTTP_METHODS[number]
