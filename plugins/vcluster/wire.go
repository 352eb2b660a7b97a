package vcluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	appsv1 "k8s.io/api/apps/v1"
)

// A list of 1,000 control-plane workloads is tens of MB decoded into typed
// objects (pod templates, managedFields), which alone doubled the time of
// `list`. The few fields list needs are read here straight off the
// apiserver's protobuf answer instead, skipping the rest unparsed. Field
// numbers are those of k8s.io/api/apps/v1/generated.proto and
// k8s.io/apimachinery's meta/v1 and runtime generated.proto (wire-stable
// API). TestParseWorkloadList checks them against objects the typed
// clients' own Marshal encodes.

// protobufMagic prefixes the apiserver's protobuf envelope (runtime.Unknown).
var protobufMagic = []byte("k8s\x00")

// wireWorkload is what list needs of a control-plane workload.
type wireWorkload struct {
	namespace string
	paused    bool
	replicas  *int32
	ready     int32
}

const (
	fieldUnknownRaw     = 2  // runtime.Unknown.raw
	fieldListItems      = 2  // StatefulSetList.items, DeploymentList.items
	fieldObjMeta        = 1  // .metadata
	fieldObjSpec        = 2  // .spec
	fieldObjStatus      = 3  // .status
	fieldMetaNamespace  = 3  // ObjectMeta.namespace
	fieldMetaAnnots     = 12 // ObjectMeta.annotations (map entries: key 1, value 2)
	fieldSpecReplicas   = 1  // StatefulSetSpec.replicas, DeploymentSpec.replicas
	fieldStsReadyStatus = 3  // StatefulSetStatus.readyReplicas
	fieldDepReadyStatus = 7  // DeploymentStatus.readyReplicas
)

// readyField is the status field of readyReplicas for a kind.
func readyField(kind string) (protowire.Number, error) {
	switch kind {
	case KindStatefulSet:
		return fieldStsReadyStatus, nil
	case KindDeployment:
		return fieldDepReadyStatus, nil
	}
	return 0, fmt.Errorf("unknown control-plane kind %q", kind)
}

// parseWorkloadList reads a StatefulSetList or DeploymentList answer: the
// protobuf envelope, or JSON from a server (or proxy) that answered JSON.
func parseWorkloadList(raw []byte, kind string) ([]wireWorkload, error) {
	rf, err := readyField(kind)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(raw, protobufMagic) {
		return parseWorkloadJSON(raw, kind)
	}
	list, err := field(raw[len(protobufMagic):], fieldUnknownRaw)
	if err != nil {
		return nil, fmt.Errorf("%s list: %w", kind, err)
	}
	var out []wireWorkload
	err = each(list, func(n protowire.Number, item []byte) error {
		if n != fieldListItems {
			return nil
		}
		var w wireWorkload
		err := each(item, func(n protowire.Number, b []byte) error {
			switch n {
			case fieldObjMeta:
				return each(b, func(n protowire.Number, b []byte) error {
					switch n {
					case fieldMetaNamespace:
						w.namespace = string(b)
					case fieldMetaAnnots:
						k, _ := field(b, 1)
						v, _ := field(b, 2)
						if string(k) == pausedAnnotation && string(v) == "true" {
							w.paused = true
						}
					}
					return nil
				})
			case fieldObjSpec:
				return eachVarint(b, func(n protowire.Number, v uint64) {
					if n == fieldSpecReplicas {
						r := int32(v)
						w.replicas = &r
					}
				})
			case fieldObjStatus:
				return eachVarint(b, func(n protowire.Number, v uint64) {
					if n == rf {
						w.ready = int32(v)
					}
				})
			}
			return nil
		})
		out = append(out, w)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s list: %w", kind, err)
	}
	return out, nil
}

var errTruncated = errors.New("malformed protobuf")

// each calls fn for every length-delimited field of msg, skipping the rest.
func each(msg []byte, fn func(protowire.Number, []byte) error) error {
	for len(msg) > 0 {
		n, t, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return errTruncated
		}
		msg = msg[l:]
		if t == protowire.BytesType {
			v, l := protowire.ConsumeBytes(msg)
			if l < 0 {
				return errTruncated
			}
			if err := fn(n, v); err != nil {
				return err
			}
			msg = msg[l:]
			continue
		}
		if l = protowire.ConsumeFieldValue(n, t, msg); l < 0 {
			return errTruncated
		}
		msg = msg[l:]
	}
	return nil
}

// eachVarint calls fn for every varint field of msg, skipping the rest.
func eachVarint(msg []byte, fn func(protowire.Number, uint64)) error {
	for len(msg) > 0 {
		n, t, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return errTruncated
		}
		msg = msg[l:]
		if t == protowire.VarintType {
			v, l := protowire.ConsumeVarint(msg)
			if l < 0 {
				return errTruncated
			}
			fn(n, v)
			msg = msg[l:]
			continue
		}
		if l = protowire.ConsumeFieldValue(n, t, msg); l < 0 {
			return errTruncated
		}
		msg = msg[l:]
	}
	return nil
}

// field returns the first length-delimited field number n of msg.
func field(msg []byte, n protowire.Number) ([]byte, error) {
	var out []byte
	found := false
	err := each(msg, func(m protowire.Number, b []byte) error {
		if m == n && !found {
			out, found = b, true
		}
		return nil
	})
	if err == nil && !found {
		err = fmt.Errorf("no field %d", n)
	}
	return out, err
}

// parseWorkloadJSON is the same read from a JSON answer.
func parseWorkloadJSON(raw []byte, kind string) ([]wireWorkload, error) {
	var out []wireWorkload
	add := func(ns string, ann map[string]string, replicas *int32, ready int32) {
		out = append(out, wireWorkload{namespace: ns, paused: ann[pausedAnnotation] == "true", replicas: replicas, ready: ready})
	}
	switch kind {
	case KindStatefulSet:
		var l appsv1.StatefulSetList
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, fmt.Errorf("%s list: %w", kind, err)
		}
		for _, s := range l.Items {
			add(s.Namespace, s.Annotations, s.Spec.Replicas, s.Status.ReadyReplicas)
		}
	case KindDeployment:
		var l appsv1.DeploymentList
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, fmt.Errorf("%s list: %w", kind, err)
		}
		for _, d := range l.Items {
			add(d.Namespace, d.Annotations, d.Spec.Replicas, d.Status.ReadyReplicas)
		}
	}
	return out, nil
}
