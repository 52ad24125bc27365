/**
 * A Kubernetes metav1.Status as JSON: what kubectl knows how to print, so a refusal by
 * kubegate reads like one from the apiserver ("Error from server (Forbidden): ...").
 */
export function kubernetesStatusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}
