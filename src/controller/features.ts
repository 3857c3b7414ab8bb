// The Gateway API features Portcullis declares in its GatewayClass's
// status.supportedFeatures (GEP-2162). The official conformance suite reads this list
// and runs every test whose features it names, so each entry here is a claim that
// `npm run conformance:upstream` checks; reports/upstream/README.md has the results and
// names what is not declared, and why.
export const supportedFeatures: string[] = [
  // Core of the GATEWAY-HTTP, GATEWAY-TLS and GATEWAY-GRPC profiles.
  'Gateway',
  'HTTPRoute',
  'ReferenceGrant',
  'TLSRoute',
  'GRPCRoute',
  // Extended: Gateway.
  'GatewayHTTPListenerIsolation',
  'GatewayHTTPSListenerDetectMisdirectedRequests',
  'GatewayPort8080',
  // Extended: HTTPRoute.
  'HTTPRoute303RedirectStatusCode',
  'HTTPRoute307RedirectStatusCode',
  'HTTPRoute308RedirectStatusCode',
  'HTTPRouteBackendProtocolH2C',
  'HTTPRouteBackendProtocolWebSocket',
  'HTTPRouteBackendRequestHeaderModification',
  'HTTPRouteBackendTimeout',
  'HTTPRouteCORS',
  'HTTPRouteDestinationPortMatching',
  'HTTPRouteHostRewrite',
  'HTTPRouteMethodMatching',
  'HTTPRouteNamedRouteRule',
  'HTTPRouteParentRefPort',
  'HTTPRoutePathRedirect',
  'HTTPRoutePathRewrite',
  'HTTPRoutePortRedirect',
  'HTTPRouteQueryParamMatching',
  'HTTPRouteRequestMirror',
  'HTTPRouteRequestMultipleMirrors',
  'HTTPRouteRequestPercentageMirror',
  'HTTPRouteRequestTimeout',
  'HTTPRouteResponseHeaderModification',
  'HTTPRouteRetry',
  'HTTPRouteRetryBackendTimeout',
  'HTTPRouteRetryConnectionError',
  'HTTPRouteSchemeRedirect',
  // Extended: GRPCRoute.
  'GRPCRouteNamedRouteRule',
  // Extended: TLSRoute on Terminate listeners, alone and beside Passthrough ones.
  'TLSRouteModeTerminate',
  'TLSRouteModeMixed',
  // TCPRoute (experimental channel), on TCP listeners and TLS Terminate ones.
  'TCPRoute',
  // Extended: BackendTLSPolicy (re-encryption to HTTPRoute and GRPCRoute backends).
  'BackendTLSPolicy',
  'BackendTLSPolicySANValidation',
  // Extended: Gateway spec.tls — client certificate validation (GEP-91) and the client
  // certificate presented to re-encrypted backends.
  'GatewayFrontendClientCertificateValidation',
  'GatewayFrontendClientCertificateValidationInsecureFallback',
  'GatewayBackendClientCertificate',
];
