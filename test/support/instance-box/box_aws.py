"""The instance box's AWS: moto for the APIs, plus an IMDSv2 stand-in.

Runs inside the box's network namespace (loopback and 169.254.169.254 only),
so nothing the instance does can reach a real AWS endpoint.

  box_aws.py serve STATE_DIR     moto on 127.0.0.1:5000, IMDS on 169.254.169.254:80,
                                 wait condition handles on 127.0.0.1:5001
  box_aws.py setup STATE_DIR     creates what the stack would have (spec.json), launches
                                 an instance (in the group, or the stack's own EC2 instance)
                                 and prints its id, which the IMDS then serves
  box_aws.py observe STATE_DIR   prints what the box's instance did, as JSON
  box_aws.py put STATE_DIR       puts the object STATE_DIR/put.json names, from outside any instance
  box_aws.py versions STATE_DIR  prints every version (and its SHA-256) in the bucket request.json names
  box_aws.py delete-version STATE_DIR
                                 deletes the object version request.json names
  box_aws.py register-targets STATE_DIR
                                 registers the instance request.json names with the stack's
                                 target groups (as Auto Scaling does once it is in service)
  box_aws.py target-health STATE_DIR
                                 prints DescribeTargetHealth of that instance in each target group

moto 5.2 has no CompleteLifecycleAction and no SignalResource; both are added
here, with the checks AWS makes (the group, the hook and a pending launch of
the instance must exist), and recorded in STATE_DIR/events.jsonl.

The stack's target groups are made in moto's elbv2 with a fixed id in their
ARN (TARGET_GROUP_ID), so that the ARN stack-instance.ts resolves a target
group's Ref to is the one moto made; RegisterTargets and DeregisterTargets are
recorded in STATE_DIR/events.jsonl with the time moto took them.

STATE_DIR/notices.json ({IMDS path: document}) makes the IMDS stand-in answer
those paths (a Spot interruption notice, a rebalance recommendation), which
are 404 until then, as EC2's are.

STATE_DIR/faults.json ({"CompleteLifecycleAction": N}) makes the next N calls
of that API fail with a throttling error, as AWS answers a busy caller.

moto has no wait conditions: a handle's URL (wait-condition.ts makes and signs
it) is answered here as S3 answers a presigned PUT, and each signal it takes is
recorded; wait-condition.ts makes the wait condition's Data from them.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

MOTO_HOST, MOTO_PORT = "127.0.0.1", 5000
IMDS_HOST, IMDS_PORT = "169.254.169.254", 80
HANDLE_HOST, HANDLE_PORT = "127.0.0.1", 5001
ENDPOINT = f"http://{MOTO_HOST}:{MOTO_PORT}"
ROLE_NAME = "graviton-llm-box-instance-role"
# The id in every box target group's ARN; stack-instance.ts resolves a target group's Ref with the same.
TARGET_GROUP_ID = "0123456789abcdef"


def _read_json(path, default):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def _write_json(path, value):
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f)
    os.replace(tmp, path)


class Recorder:
    """Appends each AWS-side event to events.jsonl; pending launches live in pending.json."""

    def __init__(self, state_dir):
        self.events = os.path.join(state_dir, "events.jsonl")
        self.pending = os.path.join(state_dir, "pending.json")
        self.lock = threading.Lock()

    def record(self, event):
        event = {"time": time.time(), **event}
        with self.lock, open(self.events, "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")

    def take_fault(self, api, faults_path):
        """True (and one fewer left) if faults.json still holds an injected failure for api."""
        with self.lock:
            faults = _read_json(faults_path, {})
            if faults.get(api, 0) <= 0:
                return False
            faults[api] -= 1
            _write_json(faults_path, faults)
            return True

    def take_signal(self, logical_id, status, wanted):
        """True (and counted) while the creation policy of logical_id still waits for signals."""
        with self.lock:
            path = os.path.join(os.path.dirname(self.events), "signals.json")
            taken = _read_json(path, {})
            state = taken.get(logical_id, {"count": 0, "done": False})
            if state["done"]:
                return False
            state["count"] += 1
            state["done"] = status != "SUCCESS" or state["count"] >= wanted
            taken[logical_id] = state
            _write_json(path, taken)
            return True

    def take_pending(self, group, instance_id, hook):
        """True (and no longer pending) if the instance's launch in the group waits on the hook."""
        with self.lock:
            pending = _read_json(self.pending, [])
            key = [group, instance_id, hook]
            if key not in pending:
                return False
            pending.remove(key)
            _write_json(self.pending, pending)
            return True


def patch_moto(recorder, state_dir):
    from moto.autoscaling.exceptions import AutoscalingClientError
    from moto.autoscaling.exceptions import ValidationError as AsgValidationError
    from moto.autoscaling.responses import AutoScalingResponse
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import EmptyResult

    def complete_lifecycle_action(self):
        group = self._get_param("AutoScalingGroupName")
        hook = self._get_param("LifecycleHookName")
        instance_id = self._get_param("InstanceId")
        result = self._get_param("LifecycleActionResult")
        event = {"api": "CompleteLifecycleAction", "group": group, "hook": hook, "instanceId": instance_id, "result": result}
        if recorder.take_fault("CompleteLifecycleAction", os.path.join(state_dir, "faults.json")):
            recorder.record({**event, "error": "injected throttling"})
            raise AutoscalingClientError("Throttling", "Rate exceeded")
        backend = self.autoscaling_backend
        if group not in backend.autoscaling_groups:
            recorder.record({**event, "error": "no such group"})
            raise AsgValidationError(f"AutoScalingGroup name not found - {group}")
        if not backend.describe_lifecycle_hooks(group, [hook]):
            recorder.record({**event, "error": "no such hook"})
            raise AsgValidationError(f"No Lifecycle Hook found with name {hook} for group {group}")
        if result not in ("CONTINUE", "ABANDON"):
            recorder.record({**event, "error": "bad result"})
            raise AsgValidationError(f"Invalid LifecycleActionResult {result}")
        # AWS's answer outside a pending launch (a reboot of a serving instance).
        if not recorder.take_pending(group, instance_id, hook):
            recorder.record({**event, "error": "no active lifecycle action"})
            raise AsgValidationError(f"No active Lifecycle Action found with instance ID {instance_id}")
        recorder.record(event)
        return EmptyResult()

    def signal_resource(self):
        event = {
            "api": "SignalResource",
            "stackName": self._get_param("StackName"),
            "logicalResourceId": self._get_param("LogicalResourceId"),
            "uniqueId": self._get_param("UniqueId"),
            "status": self._get_param("Status"),
        }
        # As CloudFormation: the creation policy takes its count of signals (a failure ends it
        # at once); after that the resource is no longer waiting and every signal is refused.
        spec = _read_json(os.path.join(state_dir, "spec.json"), {})
        wanted = spec.get("group", {}).get("creationSignals", 0)
        if not recorder.take_signal(event["logicalResourceId"], event["status"], wanted):
            recorder.record({**event, "error": "not waiting for signals"})
            raise AsgValidationError(
                f"Resource {event['logicalResourceId']} is in CREATE_COMPLETE state and cannot be signaled")
        recorder.record(event)
        return EmptyResult()

    AutoScalingResponse.complete_lifecycle_action = complete_lifecycle_action
    CloudFormationResponse.signal_resource = signal_resource

    import moto.elbv2.models as elbv2_models
    from moto.elbv2.responses import ELBV2Response

    make_arn = elbv2_models.make_arn_for_target_group
    elbv2_models.make_arn_for_target_group = lambda **kw: make_arn(**{**kw, "tg_id": TARGET_GROUP_ID})

    def recorded(api, original):
        def call(self):
            event = {"api": api, "targetGroupArn": self._get_param("TargetGroupArn"),
                     "targets": [{"Id": t.get("Id"), "Port": int(t["Port"]) if t.get("Port") else None}
                                 for t in self._get_param("Targets", [])]}
            try:
                result = original(self)
            except Exception as e:
                recorder.record({**event, "error": type(e).__name__})
                raise
            recorder.record(event)
            return result
        return call

    ELBV2Response.register_targets = recorded("RegisterTargets", ELBV2Response.register_targets)
    ELBV2Response.deregister_targets = recorded("DeregisterTargets", ELBV2Response.deregister_targets)


class ImdsHandler(BaseHTTPRequestHandler):
    """IMDSv2 only, like the kit's launch template: every read needs a token from PUT /latest/api/token."""

    state_dir = ""
    tokens = set()
    recorder = None

    def log_message(self, *args):
        pass

    def _send(self, code, body, content_type="text/plain"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._send(400, "")
            return
        token = secrets.token_hex(16)
        self.tokens.add(token)
        self.recorder.record({"api": "IMDS", "path": "PUT /latest/api/token"})
        self._send(200, token)

    def do_GET(self):
        if self.headers.get("X-aws-ec2-metadata-token") not in self.tokens:
            self.recorder.record({"api": "IMDS", "path": f"GET {self.path}", "error": "no token (IMDSv1)"})
            self._send(401, "")
            return
        info = _read_json(os.path.join(self.state_dir, "imds.json"), {})
        region = info.get("region", "us-east-1")
        doc = {
            "instanceId": info.get("instanceId", "i-unknown"),
            "region": region,
            "availabilityZone": f"{region}a",
            "accountId": "123456789012",
            "architecture": info.get("architecture", "x86_64"),
        }
        routes = {
            "/latest/meta-data/instance-id": doc["instanceId"],
            "/latest/meta-data/placement/region": region,
            "/latest/meta-data/placement/availability-zone": doc["availabilityZone"],
            "/latest/meta-data/iam/security-credentials/": ROLE_NAME,
            f"/latest/meta-data/iam/security-credentials/{ROLE_NAME}": json.dumps({
                "Code": "Success",
                "Type": "AWS-HMAC",
                "AccessKeyId": "ASIABOXINSTANCEROLE1",
                "SecretAccessKey": "box-secret",
                "Token": "box-session-token",
                "Expiration": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6 * 3600)),
                "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }),
            "/latest/dynamic/instance-identity/document": json.dumps(doc),
        }
        # What the test announces (BoxAws.announce): spot/instance-action, events/recommendations/rebalance.
        routes.update(_read_json(os.path.join(self.state_dir, "notices.json"), {}))
        status = 200 if self.path in routes else 404
        self.recorder.record({"api": "IMDS", "path": f"GET {self.path}", "status": status})
        self._send(status, routes.get(self.path, ""))


class WaitConditionHandleHandler(BaseHTTPRequestHandler):
    """The presigned S3 URLs of wait condition handles (AWS::CloudFormation::WaitConditionHandle, Ref).

    Checked as S3 checks query-string authentication (signature version 2): the
    signature covers the method, Content-MD5, Content-Type, Expires and the path,
    so a PUT with a Content-Type is refused (SignatureDoesNotMatch), which is
    why the documented curl sends `-H 'Content-Type:'` ("Create wait conditions
    in a CloudFormation template", Using Curl to signal a Wait Condition:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-waitcondition.html);
    an expired URL is refused (AccessDenied). A request S3 takes answers 200 with
    an ETag and no body. Each PUT is recorded (events.jsonl: WaitConditionSignal,
    its body as sent); the ones taken are the signals.
    """

    secret = b""
    recorder = None

    def log_message(self, *args):
        pass

    def _error(self, code, s3_code, message, event):
        self.recorder.record({**event, "error": s3_code})
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{s3_code}</Code>'
                f"<Message>{message}</Message></Error>").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self, method):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        content_type = self.headers.get("Content-Type") or ""
        event = {"api": "WaitConditionSignal", "method": method, "handle": unquote(url.path.lstrip("/")),
                 "contentType": content_type, "body": body}
        expires = (query.get("Expires") or [""])[0]
        string_to_sign = "\n".join([method, self.headers.get("Content-MD5") or "", content_type, expires, url.path])
        wanted = base64.b64encode(hmac.new(self.secret, string_to_sign.encode(), hashlib.sha1).digest()).decode()
        given = (query.get("Signature") or [""])[0]
        if not hmac.compare_digest(wanted, given):
            self._error(403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided.", event)
            return
        if not expires.isdigit() or int(expires) < time.time():
            self._error(403, "AccessDenied", "Request has expired", event)
            return
        self.recorder.record(event)
        self.send_response(200)
        self.send_header("ETag", f'"{hashlib.md5(body.encode()).hexdigest()}"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_PUT(self):
        self._handle("PUT")

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")


def serve(state_dir):
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    recorder = Recorder(state_dir)
    patch_moto(recorder, state_dir)
    moto = ThreadedMotoServer(ip_address=MOTO_HOST, port=MOTO_PORT, verbose=False)
    moto.start()
    ImdsHandler.state_dir = state_dir
    ImdsHandler.recorder = recorder
    imds = ThreadingHTTPServer((IMDS_HOST, IMDS_PORT), ImdsHandler)
    threading.Thread(target=imds.serve_forever, daemon=True).start()
    WaitConditionHandleHandler.secret = os.environ["BOX_WAIT_CONDITION_SECRET"].encode()
    WaitConditionHandleHandler.recorder = recorder
    handles = ThreadingHTTPServer((HANDLE_HOST, HANDLE_PORT), WaitConditionHandleHandler)
    threading.Thread(target=handles.serve_forever, daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with open(os.path.join(state_dir, "ready"), "w", encoding="utf-8") as f:
        f.write(str(os.getpid()))
    stop.wait()
    imds.shutdown()
    handles.shutdown()
    moto.stop()


def client(service, region):
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=ENDPOINT,
                        aws_access_key_id="box", aws_secret_access_key="box")


def setup(state_dir):
    """Creates what the stack would have made (spec.json), where missing, and launches one more instance.

    Every call is an instance launch of the same stack: the buckets and what is
    in them persist across calls, as they do across a stack's instances.
    """
    spec = _read_json(os.path.join(state_dir, "spec.json"), None)
    region = spec["region"]
    s3 = client("s3", region)
    existing = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for bucket in spec["buckets"]:
        if bucket in existing:
            continue
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        if bucket in spec.get("versionedBuckets", []):
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for obj in spec["objects"]:
        with open(obj["file"], "rb") as f:
            s3.put_object(Bucket=obj["bucket"], Key=obj["key"], Body=f.read())
    ssm = client("ssm", region)
    for p in spec["parameters"]:
        ssm.put_parameter(Name=p["name"], Value=p["value"], Type=p["type"], Overwrite=True)

    elbv2 = client("elbv2", region)
    existing = {g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]}
    for group in spec.get("targetGroups", []):
        if group["arn"] in existing:
            continue
        vpc = client("ec2", region).describe_vpcs()["Vpcs"][0]["VpcId"]
        made = elbv2.create_target_group(Name=group["name"], Protocol=group["protocol"], Port=group["port"],
                                         VpcId=vpc, TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        if made != group["arn"]:
            raise SystemExit(f"moto made target group {made}, not the {group['arn']} the user data was given")

    launch = spec.get("launch", {"kind": "group"})
    instance_id = launch_in_group(spec, region, state_dir) if launch["kind"] == "group" else launch_instance(launch, region)
    _write_json(os.path.join(state_dir, "imds.json"),
                {"instanceId": instance_id, "region": region, "architecture": spec.get("architecture", "x86_64")})
    print(json.dumps({"instanceId": instance_id}))


def launch_instance(launch, region):
    """The stack's own instance (AWS::EC2::Instance, the builder): no group, and no hook holds it."""
    ec2 = client("ec2", region)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    reservation = ec2.run_instances(ImageId=image, InstanceType=launch["instanceType"], MinCount=1, MaxCount=1)
    return reservation["Instances"][0]["InstanceId"]


def launch_in_group(spec, region, state_dir):
    """One more instance of the group (made where missing), pending on each launch hook; its id."""
    group = spec["group"]
    asg = client("autoscaling", region)
    found = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group["name"]])["AutoScalingGroups"]
    before = {i["InstanceId"] for i in found[0]["Instances"]} if found else set()
    if not found:
        ec2 = client("ec2", region)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.create_launch_template(LaunchTemplateName=f"{group['name']}-lt",
                                   LaunchTemplateData={"ImageId": image, "InstanceType": group["instanceType"]})
        asg.create_auto_scaling_group(
            AutoScalingGroupName=group["name"],
            LaunchTemplate={"LaunchTemplateName": f"{group['name']}-lt", "Version": "$Latest"},
            MinSize=0, MaxSize=20, DesiredCapacity=1,
            AvailabilityZones=[f"{region}a"],
        )
    else:
        asg.set_desired_capacity(AutoScalingGroupName=group["name"], DesiredCapacity=len(before) + 1)
    for hook in group["hooks"]:
        asg.put_lifecycle_hook(
            LifecycleHookName=hook["name"], AutoScalingGroupName=group["name"],
            LifecycleTransition=hook["transition"], HeartbeatTimeout=hook["heartbeatTimeout"],
            DefaultResult=hook["defaultResult"],
        )
    instances = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group["name"]])["AutoScalingGroups"][0]["Instances"]
    launched = sorted({i["InstanceId"] for i in instances} - before)
    if len(launched) != 1:
        raise SystemExit(f"expected one new instance in {group['name']}, got {launched}")
    instance_id = launched[0]
    # The instance is launching: each hook holds it until the boot completes its action.
    pending = _read_json(os.path.join(state_dir, "pending.json"), [])
    pending.extend([group["name"], instance_id, hook["name"]] for hook in group["hooks"])
    _write_json(os.path.join(state_dir, "pending.json"), pending)
    return instance_id


def observe(state_dir):
    spec = _read_json(os.path.join(state_dir, "spec.json"), None)
    region = spec["region"]
    events = []
    try:
        with open(os.path.join(state_dir, "events.jsonl"), encoding="utf-8") as f:
            events = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        pass
    cw = client("cloudwatch", region)
    metrics = []
    for m in cw.list_metrics(Namespace=spec["metricNamespace"])["Metrics"]:
        stats = cw.get_metric_statistics(
            Namespace=m["Namespace"], MetricName=m["MetricName"], Dimensions=m["Dimensions"],
            StartTime=time.time() - 3600, EndTime=time.time() + 60, Period=3600, Statistics=["Sum"])
        total = sum(p["Sum"] for p in stats["Datapoints"])
        metrics.append({"name": m["MetricName"], "dimensions": {d["Name"]: d["Value"] for d in m["Dimensions"]}, "sum": total})
    s3 = client("s3", region)
    objects = {}
    versions = {}
    for bucket in spec["buckets"]:
        listing = s3.list_objects_v2(Bucket=bucket)
        objects[bucket] = sorted(o["Key"] for o in listing.get("Contents", []))
        if bucket in spec.get("versionedBuckets", []):
            counts = {}
            for v in s3.list_object_versions(Bucket=bucket).get("Versions", []):
                counts[v["Key"]] = counts.get(v["Key"], 0) + 1
            versions[bucket] = counts
    print(json.dumps({"events": events, "metrics": metrics, "objects": objects, "versions": versions}))


def put(state_dir):
    """Puts one object (put.json: bucket, key, file) as anyone holding the stack's credentials could."""
    spec = _read_json(os.path.join(state_dir, "spec.json"), None)
    obj = _read_json(os.path.join(state_dir, "put.json"), None)
    with open(obj["file"], "rb") as f:
        client("s3", spec["region"]).put_object(Bucket=obj["bucket"], Key=obj["key"], Body=f.read())
    print(json.dumps({}))


def versions(state_dir):
    """Every version of every object in the bucket request.json names: key, versionId, SHA-256 of its bytes, latest or not."""
    spec = _read_json(os.path.join(state_dir, "spec.json"), None)
    bucket = _read_json(os.path.join(state_dir, "request.json"), None)["bucket"]
    s3 = client("s3", spec["region"])
    found = []
    for v in s3.list_object_versions(Bucket=bucket).get("Versions", []):
        body = s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])["Body"].read()
        found.append({"key": v["Key"], "versionId": v["VersionId"], "sha256": hashlib.sha256(body).hexdigest(), "isLatest": v["IsLatest"]})
    print(json.dumps(found))


def delete_version(state_dir):
    """Deletes the one version request.json names (bucket, key, versionId), as the bucket's owner could."""
    spec = _read_json(os.path.join(state_dir, "spec.json"), None)
    req = _read_json(os.path.join(state_dir, "request.json"), None)
    client("s3", spec["region"]).delete_object(Bucket=req["bucket"], Key=req["key"], VersionId=req["versionId"])
    print(json.dumps({}))


def register_targets(state_dir):
    """Registers the instance request.json names (instanceId) with each of the stack's target groups, on their port."""
    spec = _read_json(os.path.join(state_dir, "spec.json"), None)
    instance_id = _read_json(os.path.join(state_dir, "request.json"), None)["instanceId"]
    elbv2 = client("elbv2", spec["region"])
    for group in spec.get("targetGroups", []):
        elbv2.register_targets(TargetGroupArn=group["arn"], Targets=[{"Id": instance_id, "Port": group["port"]}])
    print(json.dumps({}))


def target_health(state_dir):
    """DescribeTargetHealth of the instance request.json names, in each of the stack's target groups."""
    spec = _read_json(os.path.join(state_dir, "spec.json"), None)
    instance_id = _read_json(os.path.join(state_dir, "request.json"), None)["instanceId"]
    elbv2 = client("elbv2", spec["region"])
    found = []
    for group in spec.get("targetGroups", []):
        for d in elbv2.describe_target_health(TargetGroupArn=group["arn"], Targets=[{"Id": instance_id, "Port": group["port"]}])["TargetHealthDescriptions"]:
            health = d["TargetHealth"]
            found.append({"targetGroupArn": group["arn"], "id": d["Target"]["Id"], "state": health["State"], "reason": health.get("Reason")})
    print(json.dumps(found))


COMMANDS = {
    "serve": serve, "setup": setup, "observe": observe, "put": put, "versions": versions, "delete-version": delete_version,
    "register-targets": register_targets, "target-health": target_health,
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    COMMANDS[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    main()
