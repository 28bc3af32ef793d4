#!/bin/sh
# A child of teerex-init for ops_logchannel: prints one raw (non-JSON) line,
# then JSON lines: 4000 of them while DIR/flood exists, a mark with DIR/mark's
# content on demand.   chatty.sh DIR
dir=$1
pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
echo "PLAINTEXT-MARKER raw debugging print"
while :; do
  if [ -e "$dir/flood" ]; then
    i=0
    while [ $i -lt 4000 ]; do
      echo "{\"level\":\"info\",\"event\":\"flood\",\"pad\":\"$pad\"}"
      i=$((i + 1))
    done
    rm -f "$dir/flood"
  fi
  if [ -e "$dir/mark" ]; then
    echo "{\"event\":\"mark\",\"n\":\"$(cat "$dir/mark")\"}"
    rm -f "$dir/mark"
  fi
  sleep 0.05
done
