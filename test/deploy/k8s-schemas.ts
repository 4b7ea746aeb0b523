/**
 * Validates rendered Kubernetes objects against the API schemas, with the maintained
 * kubernetes-models packages (the Kubernetes OpenAPI schemas, KEDA's and the Prometheus
 * Operator's CRD schemas, compiled to validators). Every kind we ship must have a schema here:
 * an object of an unknown kind is a problem, not a silent pass.
 */
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PodMonitor, PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

/** A model class: built from a plain object, `validate()` throws on a schema violation. */
type Model = new (data: never) => { validate(): void };

const MODELS: Readonly<Record<string, Model>> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/** The schema problems of one object (empty when it validates). */
export function schemaProblems(body: Record<string, unknown>): string[] {
  const key = `${String(body['apiVersion'])}/${String(body['kind'])}`;
  const model = MODELS[key];
  if (!model) return [`no schema for ${key}: add its kubernetes-models class to test/deploy/k8s-schemas.ts`];
  try {
    new model(body as never).validate();
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}
