package kubesim

import (
	"fmt"
	"strings"
)

func (s *Sim) res(resource string) Resource {
	for _, r := range Resources {
		if r.Resource == resource {
			return r
		}
	}
	panic("kubesim: unknown resource " + resource)
}

// update stores a new version of an object when it changed.
func (s *Sim) update(resource, ns string, obj map[string]any) {
	key := resource + "/" + ns + "/" + str(obj, "metadata", "name")
	if cur := s.objs[key]; cur != nil && equal(cur, obj) {
		return
	}
	s.put(s.res(resource), ns, obj)
}

// reconcile runs the simulated controllers; the caller holds s.mu.
func (s *Sim) reconcile() {
	keys := sortedKeys(s.objs)
	// The pods of each deployment, by namespace/name.
	pods := map[string][]string{}
	for _, k := range keys {
		if strings.HasPrefix(k, "pods/") {
			p := s.objs[k]
			if owner := str(p, "metadata", "annotations", "sim.atrium/deployment"); owner != "" {
				id := str(p, "metadata", "namespace") + "/" + owner
				pods[id] = append(pods[id], k)
			}
		}
	}
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, "deployments/"):
			d := s.objs[k]
			s.reconcileDeployment(d, pods[str(d, "metadata", "namespace")+"/"+str(d, "metadata", "name")])
		case strings.HasPrefix(k, "subscriptions/"):
			s.reconcileSubscription(s.objs[k])
		}
	}
	// Pods whose deployment is gone go too.
	for _, k := range sortedKeys(s.objs) {
		if !strings.HasPrefix(k, "pods/") {
			continue
		}
		p := s.objs[k]
		if owner := str(p, "metadata", "annotations", "sim.atrium/deployment"); owner != "" && s.objs["deployments/"+str(p, "metadata", "namespace")+"/"+owner] == nil {
			s.remove(k)
		}
	}
}

func (s *Sim) reconcileDeployment(d map[string]any, podKeys []string) {
	ns, name := str(d, "metadata", "namespace"), str(d, "metadata", "name")
	gen, _ := toInt(dig(d, "metadata", "generation"))
	want := int64(1)
	if r, ok := toInt(dig(d, "spec", "replicas")); ok {
		want = r
	}
	genTag := fmt.Sprint(gen)
	var current []map[string]any
	for _, k := range podKeys {
		p := s.objs[k]
		if p == nil {
			continue
		}
		if str(p, "metadata", "annotations", "sim.atrium/generation") != genTag || int64(len(current)) >= want {
			s.remove(k)
			continue
		}
		current = append(current, p)
	}
	for i := int64(len(current)); i < want; i++ {
		pod := map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{
				"name": fmt.Sprintf("%s-%x-%d", name, 0x5f00+gen, i), "namespace": ns,
				"labels":          clone(map[string]any{"l": dig(d, "spec", "template", "metadata", "labels")})["l"],
				"annotations":     map[string]any{"sim.atrium/deployment": name, "sim.atrium/generation": genTag},
				"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": fmt.Sprintf("%s-%x", name, 0x5f00+gen)}},
			},
			"spec": clone(map[string]any{"s": dig(d, "spec", "template", "spec")})["s"],
		}
		current = append(current, s.put(s.res("pods"), ns, pod))
	}
	ready := int64(0)
	for _, p := range current {
		key := "pods/" + ns + "/" + str(p, "metadata", "name")
		p = s.objs[key]
		st := s.podStatus(key, p)
		if st["phase"] == "Running" && !strings.Contains(fmt.Sprint(st["containerStatuses"]), "waiting") {
			ready++
		}
		if !equal(p["status"], st) {
			p = clone(p)
			p["status"] = st
			s.put(s.res("pods"), ns, p)
		}
	}
	n := int64(len(current))
	avail := map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}
	prog := map[string]any{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
	if ready < want {
		avail = map[string]any{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}
		prog["reason"] = "ReplicaSetUpdated"
	}
	st := map[string]any{"observedGeneration": gen, "replicas": n, "updatedReplicas": n, "readyReplicas": ready, "availableReplicas": ready,
		"conditions": []any{avail, prog}}
	if !equal(d["status"], st) {
		d = clone(d)
		d["status"] = st
		s.put(s.res("deployments"), ns, d)
	}
}

func (s *Sim) podStatus(key string, p map[string]any) map[string]any {
	age := s.now().Sub(s.born[key])
	var statuses []any
	phase := "Pending"
	if age >= s.PodStart {
		phase = "Running"
	}
	cs, _ := dig(p, "spec", "containers").([]any)
	for _, c := range cs {
		image := str(c, "image")
		st := map[string]any{"name": str(c, "name"), "image": image, "restartCount": 0, "ready": phase == "Running"}
		switch {
		case phase == "Pending":
			st["state"] = map[string]any{"waiting": map[string]any{"reason": "ContainerCreating"}}
		case strings.Contains(image, "crash"):
			st["ready"] = false
			st["restartCount"] = int64(age / s.PodStart)
			st["state"] = map[string]any{"waiting": map[string]any{"reason": "CrashLoopBackOff"}}
		default:
			st["state"] = map[string]any{"running": map[string]any{"startedAt": s.born[key].Add(s.PodStart).UTC().Format("2006-01-02T15:04:05Z")}}
		}
		statuses = append(statuses, st)
	}
	return map[string]any{"phase": phase, "podIP": "10.128.0.10", "containerStatuses": statuses}
}

func (s *Sim) reconcileSubscription(sub map[string]any) {
	ns, name := str(sub, "metadata", "namespace"), str(sub, "metadata", "name")
	pkg := str(sub, "spec", "name")
	csvName := str(sub, "spec", "startingCSV")
	if csvName == "" {
		csvName = pkg + ".v1.0.0"
	}
	ipName := "install-" + name
	ip := s.objs["installplans/"+ns+"/"+ipName]
	if ip == nil {
		manual := str(sub, "spec", "installPlanApproval") == "Manual"
		ip = s.put(s.res("installplans"), ns, map[string]any{
			"apiVersion": "operators.coreos.com/v1alpha1", "kind": "InstallPlan",
			"metadata": map[string]any{"name": ipName, "namespace": ns},
			"spec": map[string]any{"approval": map[bool]string{true: "Manual", false: "Automatic"}[manual], "approved": !manual,
				"clusterServiceVersionNames": []any{csvName}},
		})
	}
	approved, _ := dig(ip, "spec", "approved").(bool)
	csvKey := "clusterserviceversions/" + ns + "/" + csvName
	if approved && s.objs[csvKey] == nil {
		s.put(s.res("clusterserviceversions"), ns, map[string]any{
			"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion",
			"metadata": map[string]any{"name": csvName, "namespace": ns, "labels": map[string]any{"operators.coreos.com/" + pkg + "." + ns: ""}},
			"spec":     map[string]any{"displayName": pkg, "version": strings.TrimPrefix(csvName, pkg+".v")},
		})
	}
	ipPhase, state := "RequiresApproval", "UpgradePending"
	var conds []any
	if csv := s.objs[csvKey]; csv != nil {
		csv = clone(csv)
		phase, reason, msg := "Installing", "InstallWaiting", "installing: waiting for deployment "+pkg+"-operator to become ready"
		if s.now().Sub(s.born[csvKey]) >= s.Install {
			phase, reason, msg = "Succeeded", "InstallSucceeded", "install strategy completed with no errors"
			if strings.HasPrefix(pkg, "fail") {
				phase, reason, msg = "Failed", "InstallCheckFailed", "install timeout: deployment "+pkg+"-operator not available"
			}
		}
		csv["status"] = map[string]any{"phase": phase, "reason": reason, "message": msg}
		s.update("clusterserviceversions", ns, csv)
		ipPhase = "Installing"
		switch phase {
		case "Succeeded":
			ipPhase, state = "Complete", "AtLatestKnown"
		case "Failed":
			ipPhase = "Failed"
		}
	} else if approved {
		ipPhase = "Installing"
	} else {
		conds = append(conds, map[string]any{"type": "InstallPlanPending", "status": "True", "reason": "RequiresApproval"})
	}
	ip = clone(ip)
	ip["status"] = map[string]any{"phase": ipPhase}
	s.update("installplans", ns, ip)
	sub = clone(sub)
	st := map[string]any{"state": state, "currentCSV": csvName,
		"installPlanRef": map[string]any{"apiVersion": "operators.coreos.com/v1alpha1", "kind": "InstallPlan", "name": ipName, "namespace": ns},
		"installplan":    map[string]any{"apiVersion": "operators.coreos.com/v1alpha1", "kind": "InstallPlan", "name": ipName}}
	if s.objs[csvKey] != nil {
		st["installedCSV"] = csvName
	}
	if conds != nil {
		st["conditions"] = conds
	}
	sub["status"] = st
	s.update("subscriptions", ns, sub)
}
