#!/usr/bin/env bash
# Bad on purpose: an unquoted variable that splits on spaces (SC2086).
dir=$1
rm -rf $dir/tmp
