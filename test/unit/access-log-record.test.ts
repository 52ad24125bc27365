import { toAccessLogRecord } from '../../control-plane/envoy-access-log/access-log-record';
import { toStruct } from '../../control-plane/proto/struct-value';

describe('access-log records', () => {
  test("flatten Envoy's HTTPAccessLogEntry and join the authorization metadata", () => {
    const entry = {
      common_properties: {
        start_time: { seconds: '1795000000', nanos: 250000000 },
        duration: { seconds: '0', nanos: 3500000 },
        downstream_remote_address: { socket_address: { address: '127.0.0.1', port_value: 51000 } },
        upstream_remote_address: { socket_address: { address: '127.0.0.1', port_value: 6443 } },
        upstream_cluster: 'kube-apiserver/alpha',
        response_flags: { no_healthy_upstream: false, upstream_connection_failure: true },
        connection_termination_details: '',
        metadata: {
          filter_metadata: {
            'envoy.filters.http.ext_authz': toStruct({
              user: 'alice',
              groups: ['dev'],
              cluster: 'alpha',
              decision: 'allow',
              reason: 'rule 0 of BreakGlassPolicy "oncall" allows list namespaces',
              verb: 'list',
              apiGroup: '',
              resource: 'namespaces',
              namespace: '',
              name: '',
              policy: 'oncall',
              breakGlassId: 'bg-7',
            }),
          },
        },
      },
      request: {
        request_method: 'GET',
        path: '/api/v1/namespaces',
        original_path: '/clusters/alpha/api/v1/namespaces',
        request_id: 'abc',
        user_agent: 'kubectl/v1.32.4',
        request_headers_bytes: '300',
        request_body_bytes: '0',
        request_headers: { 'kubectl-command': 'kubectl get', 'kubectl-session': 's-1' },
      },
      response: { response_code: { value: 200 }, response_headers_bytes: '120', response_body_bytes: '2048', response_code_details: 'via_upstream' },
    };
    expect(toAccessLogRecord(entry, 'edge-0')).toEqual({
      stage: 'completion',
      time: new Date(1795000000250).toISOString(),
      requestId: 'abc',
      edge: 'edge-0',
      user: 'alice',
      groups: ['dev'],
      cluster: 'alpha',
      decision: 'allow',
      reason: 'rule 0 of BreakGlassPolicy "oncall" allows list namespaces',
      verb: 'list',
      apiGroup: '',
      resource: 'namespaces',
      namespace: '',
      name: '',
      policy: 'oncall',
      breakGlassId: 'bg-7',
      sourceAddress: '127.0.0.1:51000',
      method: 'GET',
      path: '/clusters/alpha/api/v1/namespaces',
      status: 200,
      bytesReceived: 300,
      bytesSent: 2168,
      durationMs: 3.5,
      upstreamCluster: 'kube-apiserver/alpha',
      upstreamAddress: '127.0.0.1:6443',
      responseFlags: ['upstream_connection_failure'],
      responseCodeDetails: 'via_upstream',
      terminationDetails: '',
      userAgent: 'kubectl/v1.32.4',
      kubectlCommand: 'kubectl get',
      kubectlSession: 's-1',
      upgrade: '',
    });
  });

  test('a request refused before authorization has no identity and decision "none"', () => {
    const r = toAccessLogRecord({ common_properties: {}, request: { request_method: 'GET', path: '/x' }, response: { response_code: { value: 400 } } }, 'edge-0');
    expect(r).toMatchObject({ user: '', cluster: '', decision: 'none', status: 400, path: '/x', verb: '', breakGlassId: '' });
  });
});
