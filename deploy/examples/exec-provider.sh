#!/bin/sh
# Example exec provider: runners as EC2 instances, created from a launch template.
#
#   offload.runners.exec {
#     create-command  = "/etc/offload/exec-provider.sh create"    # gets the runner class
#     destroy-command = "/etc/offload/exec-provider.sh destroy"   # gets the runner id
#     timeout = 10m
#   }
#
# create prints exactly one JSON object on stdout; everything else goes to stderr. On any failure
# it terminates what it started and exits non-zero, so a failed create leaves nothing behind.
# The host key comes from the instance's console output (printed by cloud-init at first boot),
# never from a first connection: the control plane pins it and refuses any other key.
#
# Needs: aws CLI v2, jq. Environment: OFFLOAD_EC2_TEMPLATE_<CLASS> (launch template id per class,
# e.g. OFFLOAD_EC2_TEMPLATE_STANDARD), OFFLOAD_EC2_USER (default ubuntu), AWS_REGION.
set -eu

log() { echo "exec-provider: $*" >&2; }

create() {
  class=$1
  var="OFFLOAD_EC2_TEMPLATE_$(echo "$class" | tr '[:lower:]-' '[:upper:]_')"
  eval template=\${$var:-}
  [ -n "$template" ] || { log "no launch template for class $class: set $var"; exit 2; }

  id=$(aws ec2 run-instances --launch-template "LaunchTemplateId=$template" \
        --tag-specifications "ResourceType=instance,Tags=[{Key=offload-class,Value=$class}]" \
        --query 'Instances[0].InstanceId' --output text)
  trap 'log "create failed, terminating $id"; aws ec2 terminate-instances --instance-ids "$id" >/dev/null' EXIT
  # The control plane stops a create past its timeout with SIGTERM: exit, so the trap above runs.
  trap 'exit 1' TERM INT
  log "started $id, waiting until it runs"
  aws ec2 wait instance-running --instance-ids "$id"
  host=$(aws ec2 describe-instances --instance-ids "$id" \
        --query 'Reservations[0].Instances[0].PrivateIpAddress' --output text)

  # cloud-init prints the host keys between these markers once sshd has generated them.
  host_key=""
  for _ in $(seq 60); do
    host_key=$(aws ec2 get-console-output --instance-id "$id" --latest --output text \
      | sed -n '/-----BEGIN SSH HOST KEY KEYS-----/,/-----END SSH HOST KEY KEYS-----/p' \
      | grep '^ssh-ed25519 ' | awk '{print $1" "$2}' | head -n 1) || true
    [ -n "$host_key" ] && break
    sleep 10
  done
  [ -n "$host_key" ] || { log "$id did not report an ed25519 host key"; exit 3; }

  jq -n --arg id "$id" --arg host "$host" --arg user "${OFFLOAD_EC2_USER:-ubuntu}" --arg key "$host_key" \
    '{id: $id, host: $host, port: 22, user: $user, hostKey: $key, engineTarget: "unix:///var/run/docker.sock"}'
  trap - EXIT
}

destroy() {
  # Idempotent: an instance that is already gone counts as destroyed.
  if out=$(aws ec2 terminate-instances --instance-ids "$1" 2>&1 >/dev/null); then
    return 0
  fi
  case "$out" in
    *InvalidInstanceID.NotFound*) return 0 ;;
  esac
  log "cannot terminate $1: $out"
  exit 1
}

case "${1:-}" in
  create) create "$2" ;;
  destroy) destroy "$2" ;;
  *) log "usage: $0 create <class> | destroy <id>"; exit 2 ;;
esac
