/**
 * The least the hub chart takes (its required values), shared by the hub chart's tests so that
 * each renders the chart from the same starting point.
 */
export const IMAGE_DIGEST = 'sha256:' + 'a'.repeat(64);

export const HUB_REQUIRED_VALUES = {
  images: { controller: `registry.local/kubegate/controller@${IMAGE_DIGEST}`, envoy: `registry.local/kubegate/envoy@${IMAGE_DIGEST}` },
  edgeUrl: 'https://kubegate.example.com',
};
