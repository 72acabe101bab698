# Run by `unshare -m` through `sh -c` (tests/tests/nullok_homes.rs): a home on an fscrypt-encrypted
# ext4 loop mount, tried locked, unlocked and without a secret file. Everything happens in the
# private mount namespace: /etc under an overlay (fscrypt setup writes /etc/fscrypt.conf), the
# test passwd and group, the loop mount.
# Arguments: DIR PASSWD GROUP MKFS FSCRYPT HOME SECRET, then three sh command lines (each run
# with eval after its "STEP name" line): the login while locked, while unlocked, and without
# the secret file.
set -e
D=$1 passwd=$2 group=$3 mkfs=$4 fscrypt=$5 home=$6 secret=$7 locked=$8 unlocked=$9
shift 9
unenrolled=$1
mkdir -p "$D/etc-up" "$D/etc-work" "$D/mnt"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$D/etc-up,workdir=$D/etc-work" /etc
mount --bind "$passwd" /etc/passwd
mount --bind "$group" /etc/group
truncate -s 32M "$D/ext4.img"
"$mkfs" -q -O encrypt "$D/ext4.img"
mount -o loop "$D/ext4.img" "$D/mnt"
trap 'umount "$D/mnt"' EXIT
"$fscrypt" setup --quiet --force >/dev/null
"$fscrypt" setup "$D/mnt" --quiet >/dev/null
mkdir -m 700 "$home"
head -c 32 /dev/urandom > "$D/raw.key"
"$fscrypt" encrypt "$home" --source=raw_key --name=pamtest0 --key="$D/raw.key" --quiet
cp "$secret" "$home/.pam_totp.toml"
echo '# skel' > "$home/.profile"
chown -R 40000:40000 "$home"
"$fscrypt" lock "$home" --quiet
echo STEP locked
eval "$locked" || true
"$fscrypt" unlock "$home" --key="$D/raw.key" --quiet
echo STEP unlocked
eval "$unlocked" || true
rm "$home/.pam_totp.toml"
echo STEP not-enrolled
eval "$unenrolled" || true
